import { z } from 'zod';
import { paginationQuery } from '../../lib/http-schemas.ts';
import { userIdParam } from '../users/user.schemas.ts';
import { roomIdParam } from './room-id.ts';
import { messageExample, messageSchema } from './room-message.schemas.ts';

export const ROOM_TYPES = ['direct', 'group'] as const;
export const ROOM_ROLES = ['owner', 'admin', 'member'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];
export type RoomRole = (typeof ROOM_ROLES)[number];

export const MIN_MEMBERS = 2;
export const MAX_MEMBERS = 1000;
export const DEFAULT_MAX_MEMBERS = 100;
/** How many users one create request may add (each one's block status is checked). */
export const MAX_INITIAL_MEMBERS = 100;

export { roomIdParam };
const userIdValue = z.number().int().positive().max(2_147_483_647);

const ownerExample = { user_id: 1, username: 'ada_lovelace', display_name: 'Ada Lovelace', nickname: null, role: 'owner', joined_at: '2026-01-23T09:00:00.000Z' };

export const roomMemberSchema = z
  .object({
    user_id: z.number().int(),
    username: z.string(),
    display_name: z.string().nullable(),
    nickname: z.string().nullable().describe('Name in this room; null means the profile name'),
    role: z.enum(ROOM_ROLES),
    joined_at: z.string(),
  })
  .meta({
    id: 'RoomMember',
    examples: [ownerExample],
  });

export const roomSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(ROOM_TYPES),
    name: z.string().nullable(),
    description: z.string().nullable(),
    is_private: z.boolean(),
    max_members: z.number().int(),
    created_by: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    members: z.array(roomMemberSchema),
    last_message: messageSchema.nullable(),
    unread_count: z.number().int(),
  })
  .meta({
    id: 'Room',
    examples: [
      {
        id: 10,
        type: 'group',
        name: 'Study group',
        description: 'Algorithms, Tuesdays at 7',
        is_private: false,
        max_members: 100,
        created_by: 1,
        created_at: '2026-01-23T09:00:00.000Z',
        updated_at: '2026-01-23T09:30:00.000Z',
        members: [
          ownerExample,
          { user_id: 2, username: 'grace_hopper', display_name: 'Grace Hopper', nickname: 'Grace', role: 'member', joined_at: '2026-01-23T09:05:00.000Z' },
        ],
        last_message: messageExample,
        unread_count: 0,
      },
    ],
  });

export type RoomView = z.infer<typeof roomSchema>;
export type RoomMemberView = z.infer<typeof roomMemberSchema>;

export const roomEnvelope = z.object({ room: roomSchema }).meta({ id: 'RoomResponse' });
/** Room lists are plain arrays, like the contract's other lists. */
export const roomList = z.array(roomSchema).meta({ id: 'RoomList', description: 'Newest activity first' });

export const roomParams = z.object({ room_id: roomIdParam });
export const memberParams = z.object({ room_id: roomIdParam, user_id: userIdParam });

export const directRoomBody = z
  .object({ user_id: userIdValue.describe('The other user') })
  .strict()
  .meta({ id: 'DirectRoom', examples: [{ user_id: 2 }] });

const roomName = z.string().trim().min(1).max(100);
const roomDescription = z.string().trim().max(1000).nullable();
const maxMembers = z.number().int().min(MIN_MEMBERS).max(MAX_MEMBERS);

export const createGroupBody = z
  .object({
    name: roomName,
    description: roomDescription.optional(),
    is_private: z.boolean().default(false),
    max_members: maxMembers.default(DEFAULT_MAX_MEMBERS).describe('2-1000, default 100'),
    member_ids: z.array(userIdValue).max(MAX_INITIAL_MEMBERS).default([]).describe('Users added as members'),
  })
  .strict()
  .meta({ id: 'NewGroupRoom', examples: [{ name: 'Study group', description: 'Algorithms, Tuesdays at 7', is_private: false, max_members: 100 }] });

export type CreateGroupBody = z.infer<typeof createGroupBody>;

export const updateGroupBody = z
  .object({
    name: roomName.optional(),
    description: roomDescription.optional(),
    is_private: z.boolean().optional(),
    max_members: maxMembers.optional(),
  })
  .strict()
  .meta({ id: 'GroupRoomUpdate', examples: [{ name: 'Study group (spring)', max_members: 50 }] });

export type UpdateGroupBody = z.infer<typeof updateGroupBody>;

export const addMemberBody = z
  .object({ user_id: userIdValue, role: z.enum(['admin', 'member']).default('member') })
  .strict()
  .meta({ id: 'NewRoomMember', examples: [{ user_id: 2, role: 'member' }] });

export const roleBody = z
  .object({ role: z.enum(['admin', 'member']) })
  .strict()
  .meta({ id: 'RoleChange', examples: [{ role: 'admin' }] });

export const nicknameBody = z
  .object({ nickname: z.string().trim().max(100).nullable().describe('Empty string (or null) resets to the profile name') })
  .strict()
  .meta({ id: 'NicknameChange', examples: [{ nickname: 'Ada' }] });

export const listQuery = paginationQuery;

export const groupListQuery = paginationQuery.extend({
  discover: z.enum(['true', 'false', '1', '0']).optional().describe('true: public rooms I am not in'),
});

export const roomSettingsBody = z
  .object({ muted: z.boolean().describe('A muted room raises no `message` notifications for me') })
  .strict()
  .meta({ id: 'RoomSettingsChange', examples: [{ muted: true }] });

export const roomSettingsSchema = z.object({ room_id: z.number().int(), muted: z.boolean() }).meta({ id: 'RoomSettings' });

export type RoomSettingsView = z.infer<typeof roomSettingsSchema>;

export const unreadSummarySchema = z
  .object({
    total: z.number().int().describe('Unread messages over all my rooms'),
    rooms: z
      .array(z.object({ room_id: z.number().int(), unread_count: z.number().int().min(1) }))
      .describe('Only rooms with unread messages, newest activity first'),
  })
  .meta({ id: 'UnreadSummary' });

export type UnreadSummaryView = z.infer<typeof unreadSummarySchema>;
