import { z } from 'zod';
import { userIdParam } from '../users/user.schemas.ts';

export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

export const profileParams = z.object({ user_id: userIdParam });

export const updateProfileBody = z
  .object({
    display_name: z.string().trim().min(1).max(100).nullable().optional(),
    status_message: z.string().trim().max(200).nullable().optional(),
  })
  .strict();

export type UpdateProfileBody = z.infer<typeof updateProfileBody>;
