import { z } from 'zod';
import { paginationQuery } from '../../lib/http-schemas.ts';
import { userIdParam, userSummarySchema } from '../users/user.schemas.ts';

export const FRIENDSHIP_STATUSES = ['pending', 'accepted', 'rejected'] as const;

export const friendshipSchema = z
  .object({
    id: z.number().int(),
    requester_id: z.number().int(),
    addressee_id: z.number().int(),
    status: z.enum(FRIENDSHIP_STATUSES),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({
    id: 'Friendship',
    examples: [{ id: 7, requester_id: 1, addressee_id: 2, status: 'pending', created_at: '2026-01-23T09:30:00.000Z', updated_at: '2026-01-23T09:30:00.000Z' }],
  });

export const friendshipEnvelope = z.object({ friendship: friendshipSchema }).meta({ id: 'FriendshipResponse' });

export const friendRequestBody = z
  .object({ user_id: z.number().int().positive().max(2_147_483_647).describe('The user to befriend') })
  .strict()
  .meta({ id: 'NewFriendRequest', examples: [{ user_id: 2 }] });

export const respondBody = z
  .object({ action: z.enum(['accept', 'reject']) })
  .strict()
  .meta({ id: 'FriendRequestAnswer', examples: [{ action: 'accept' }] });

export const requesterParams = z.object({ requester_user_id: userIdParam });
export const targetParams = z.object({ target_user_id: userIdParam });
export const friendParams = z.object({ user_id: userIdParam });

export const listQuery = paginationQuery;

export const searchQuery = paginationQuery.extend({
  q: z.string().trim().min(3).max(100).describe('At least 3 characters; matches username or display name'),
});

export const friendSchema = z
  .object({
    user_id: z.number().int(),
    username: z.string(),
    display_name: z.string().nullable(),
    email: z.string(),
    profile_image_url: z.string().nullable(),
    is_online: z.boolean(),
    last_seen_at: z.string().nullable(),
    last_seen_display: z
      .string()
      .nullable()
      .describe('"방금전" (online or under 5 min), "N분 전", "N시간 전" or "N일 전"; null when offline and never seen'),
  })
  .meta({
    id: 'Friend',
    examples: [
      {
        user_id: 2,
        username: 'grace_hopper',
        display_name: 'Grace Hopper',
        email: 'grace@example.com',
        profile_image_url: null,
        is_online: false,
        last_seen_at: '2026-01-23T07:30:00.000Z',
        last_seen_display: '2시간 전',
      },
    ],
  });

export const friendListResponse = z.array(friendSchema).meta({ id: 'FriendList' });

export const friendRequestSchema = z
  .object({
    user_id: z.number().int().describe('The other user (the requester in `received`, the addressee in `sent`)'),
    username: z.string(),
    display_name: z.string().nullable(),
    profile_image_url: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({
    id: 'FriendRequest',
    examples: [{ user_id: 3, username: 'alan_turing', display_name: null, profile_image_url: null, created_at: '2026-01-23T09:30:00.000Z' }],
  });

export const friendRequestsResponse = z
  .object({
    received: z.array(friendRequestSchema),
    sent: z.array(friendRequestSchema),
  })
  .meta({ id: 'FriendRequests' });

export const userSearchResultSchema = userSummarySchema.meta({
  id: 'UserSearchResult',
  examples: [{ user_id: 3, username: 'alan_turing', display_name: 'Alan Turing', profile_image_url: null }],
});

export const searchResponse = z.array(userSearchResultSchema).meta({ id: 'UserSearchResults' });

export type FriendshipView = z.infer<typeof friendshipSchema>;
export type FriendView = z.infer<typeof friendSchema>;
export type FriendRequestView = z.infer<typeof friendRequestSchema>;
export type UserSearchResult = z.infer<typeof userSearchResultSchema>;
export type RespondAction = z.infer<typeof respondBody>['action'];
export interface Page {
  limit: number;
  offset: number;
}
