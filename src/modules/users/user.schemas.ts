import { z } from 'zod';
import { idParam } from '../../lib/http-schemas.ts';

export const userIdParam = idParam;

/** A user as the document shows one (other schemas' examples embed it). */
export const userExample = {
  id: 1,
  email: 'ada@example.com',
  username: 'ada_lovelace',
  display_name: 'Ada Lovelace',
  profile_image_url: null,
  status_message: '오늘도 좋은 하루 🙂',
  is_online: true,
  last_seen_at: '2026-01-23T09:30:00.000Z',
  created_at: '2026-01-20T08:00:00.000Z',
};

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
  .meta({ id: 'User', examples: [userExample] });

export const userEnvelope = z.object({ user: userSchema }).meta({ id: 'UserResponse' });

export type UserView = z.infer<typeof userSchema>;
