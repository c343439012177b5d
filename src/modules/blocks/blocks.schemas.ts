import { z } from 'zod';
import { paginationQuery } from '../../lib/http-schemas.ts';
import { userIdParam } from '../users/user.schemas.ts';

export const blockBody = z
  .object({ user_id: z.number().int().positive().max(2_147_483_647).describe('The user to block') })
  .strict()
  .meta({ id: 'NewBlock', examples: [{ user_id: 2 }] });

export const blockParams = z.object({ user_id: userIdParam });

export const blockListQuery = paginationQuery;

export const blockedUserSchema = z
  .object({
    user_id: z.number().int(),
    username: z.string(),
    display_name: z.string().nullable(),
    blocked_at: z.string(),
  })
  .meta({
    id: 'BlockedUser',
    examples: [{ user_id: 2, username: 'grace_hopper', display_name: 'Grace Hopper', blocked_at: '2026-01-23T09:30:00.000Z' }],
  });

export const blockListResponse = z.array(blockedUserSchema).meta({ id: 'BlockedUserList' });

export type BlockedUserView = z.infer<typeof blockedUserSchema>;
