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

export const userParams = z.object({ user_id: userIdParam });

/** Control characters and unpaired surrogates (which MySQL cannot store as UTF-8) in search text. */
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\p{Cs}]*$/u;

export const userSearchQuery = z.object({
  q: z
    .string()
    .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters')
    .trim()
    .min(2)
    .max(100)
    .describe('At least 2 characters; matched case-insensitively against username and display name, `%` and `_` literally'),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

/** Who a user is, in lists about other users (search results, requests). */
export const userSummarySchema = z.object({
  user_id: z.number().int(),
  username: z.string(),
  display_name: z.string().nullable(),
  profile_image_url: z.string().nullable(),
});

export const directoryEntrySchema = userSummarySchema
  .extend({
    is_friend: z.boolean(),
    friend_request: z
      .enum(['sent', 'received'])
      .nullable()
      .describe('A pending friend request: `sent` by me, `received` from them; null when none'),
  })
  .meta({ id: 'UserDirectoryEntry' });

export const userSearchResponse = z.array(directoryEntrySchema).meta({ id: 'UserDirectoryEntries' });

export const MAX_USER_IDS = 100;

export const userIdsQuery = z.object({
  ids: z
    .string()
    .describe(`Comma-separated user ids, at most ${MAX_USER_IDS}`)
    // 10 digits and a comma per id: longer text cannot be a valid list.
    .max(MAX_USER_IDS * 11)
    .transform((text): unknown[] => text.split(','))
    .pipe(z.array(userIdParam).max(MAX_USER_IDS)),
});

export const userListResponse = z.array(userSchema).meta({ id: 'Users' });

export type UserSummary = z.infer<typeof userSummarySchema>;
export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;
