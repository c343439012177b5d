import { z } from 'zod';
import { paginationQuery } from '../../lib/http-schemas.ts';
import { userIdParam } from '../users/user.schemas.ts';

export const blockBody = z
  .object({ user_id: z.number().int().positive().max(2_147_483_647).describe('The user to block') })
  .strict();

export const blockParams = z.object({ user_id: userIdParam });

export const blockListQuery = paginationQuery;

export const blockedUserSchema = z
  .object({
    user_id: z.number().int(),
    username: z.string(),
    display_name: z.string().nullable(),
    blocked_at: z.string(),
  })
  .meta({ id: 'BlockedUser' });

export const blockListResponse = z.array(blockedUserSchema);

export type BlockedUserView = z.infer<typeof blockedUserSchema>;
