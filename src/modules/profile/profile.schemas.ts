import { z } from 'zod';
import { userIdParam } from '../users/user.schemas.ts';

export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

export const profileParams = z.object({ user_id: userIdParam });

export const updateProfileBody = z
  .object({
    display_name: z.string().trim().min(1).max(100).nullable().optional(),
    status_message: z.string().trim().max(200).nullable().optional(),
  })
  .strict()
  .meta({ id: 'ProfileUpdate', examples: [{ display_name: 'Ada Lovelace', status_message: '오늘도 좋은 하루 🙂' }] });

/**
 * The avatar upload as the document shows it (a file picker in Swagger UI). Documentation only,
 * never validation: the route reads the multipart stream itself (see `documentedBody`).
 */
export const avatarUploadForm = z
  .object({ image: z.file().describe('PNG, JPEG, WebP or GIF (judged by content), at most 5 MB') })
  .meta({ id: 'AvatarUpload' });

export type UpdateProfileBody = z.infer<typeof updateProfileBody>;
