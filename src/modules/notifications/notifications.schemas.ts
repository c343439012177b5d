import { z } from 'zod';

export const NOTIFICATION_TYPES = ['friend_request', 'friend_accepted', 'message', 'mention'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const notificationSchema = z
  .object({
    id: z.number().int().positive(),
    type: z.enum(NOTIFICATION_TYPES),
    actor_id: z.number().int().nullable().describe('Who caused it: the requester, the accepter, the sender (for `message`: of the newest message)'),
    room_id: z.number().int().nullable(),
    message_id: z.string().nullable().describe('The message (for `message`: the newest one)'),
    preview: z.string().nullable().describe('The first 100 characters of the message; a short label for images and files'),
    count: z.number().int().min(1).describe('`message`: messages that arrived while it was unread; otherwise 1'),
    created_at: z.string().describe('For `message`: the time of its newest message'),
    read_at: z.string().nullable(),
  })
  .meta({ id: 'Notification' });

export type NotificationView = z.infer<typeof notificationSchema>;

export const listQuery = z.object({
  unread_only: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((value) => value === 'true' || value === '1')
    .describe('true: unread notifications only'),
  before: z.string().min(1).max(400).optional().describe('next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const listResponse = z
  .object({
    notifications: z.array(notificationSchema).describe('Newest first'),
    next_cursor: z.string().nullable(),
    has_more: z.boolean(),
    unread_count: z.number().int().describe('All my unread notifications, not only this page'),
  })
  .meta({ id: 'NotificationPage' });

export type NotificationPageView = z.infer<typeof listResponse>;

const notificationId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const readBody = z
  .union([
    z.object({ ids: z.array(notificationId).min(1).max(100).describe('My notifications; ids of anyone else\'s are ignored') }).strict(),
    z.object({ all: z.literal(true) }).strict(),
  ])
  .meta({ id: 'NotificationsRead', description: 'Either `ids` or `all: true`', examples: [{ ids: [1, 2] }, { all: true }] });

export type ReadRequest = z.infer<typeof readBody>;

export const unreadCountResponse = z.object({ unread_count: z.number().int() }).meta({ id: 'NotificationUnreadCount' });
