import { z } from 'zod';
import { idParam } from '../../lib/http-schemas.ts';

export const userIdParam = idParam;

export const userSchema = z
  .object({
    id: z.number().int(),
    email: z.string().nullable().describe('Shown only to the user themself and their friends'),
    username: z.string(),
    display_name: z.string().nullable(),
    profile_image_url: z.string().nullable(),
    status_message: z.string().nullable(),
    is_online: z.boolean(),
    last_seen_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'User' });

export const userEnvelope = z.object({ user: userSchema });

export type UserView = z.infer<typeof userSchema>;
