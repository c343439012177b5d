import { z } from 'zod';
import { userIdParam } from '../users/user.schemas.ts';

export const heartbeatResponse = z
  .object({
    user_id: z.number().int(),
    is_online: z.literal(true),
    ttl_seconds: z.number().int().describe('Seconds the user stays online without another heartbeat'),
  })
  .meta({ id: 'PresenceHeartbeat' });

export const userStatusParams = z.object({ user_id: userIdParam });

export const userStatusResponse = z
  .object({
    user_id: z.number().int(),
    status: z.enum(['online', 'offline']),
    is_online: z.boolean(),
    last_activity: z
      .string()
      .nullable()
      .describe('Online: last login or heartbeat. Offline: when they were last seen (null if never).'),
  })
  .meta({ id: 'UserOnlineStatus' });

export const friendStatus = z.object({ user_id: z.number().int(), is_online: z.boolean() }).meta({ id: 'FriendOnlineStatus' });
export const friendStatusList = z.array(friendStatus);

export const streamQuery = z.object({
  token: z.string().optional().describe('Access token, for EventSource (which cannot set headers)'),
});

export const streamDescription = [
  'Server-Sent Events (`text/event-stream`). Authenticate with the `Authorization` header, the',
  '`token` query parameter or the `jwt_token` cookie. Events:',
  '`connected` `{"message": "Monitoring N friends", "friend_ids": [...]}` first, then one',
  '`status` `{"user_id", "is_online"}` per friend with their current state, then a `status`',
  "event for every change of a friend's presence, on whichever instance it happened.",
  '`: keep-alive` comments at least every 30 s; `error` `{"message"}` on failures.',
  'Friendships accepted or ended while connected update what the stream watches.',
].join(' ');

export const streamResponse = z.string().describe('An endless `text/event-stream` body');

export type UserStatusResponse = z.infer<typeof userStatusResponse>;
export type FriendStatus = z.infer<typeof friendStatus>;
