import { z } from 'zod';
import { userIdParam } from '../users/user.schemas.ts';

export const heartbeatResponse = z
  .object({
    user_id: z.number().int(),
    is_online: z.literal(true),
    ttl_seconds: z.number().int().describe('Seconds the user stays online without another heartbeat'),
  })
  .meta({ id: 'PresenceHeartbeat', examples: [{ user_id: 1, is_online: true, ttl_seconds: 300 }] });

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
  .meta({
    id: 'UserOnlineStatus',
    examples: [{ user_id: 2, status: 'online', is_online: true, last_activity: '2026-01-23T09:30:00.000Z' }],
  });

export const friendStatus = z
  .object({ user_id: z.number().int(), is_online: z.boolean() })
  .meta({ id: 'FriendOnlineStatus', examples: [{ user_id: 2, is_online: true }] });
export const friendStatusList = z.array(friendStatus).meta({ id: 'FriendOnlineStatusList' });

export const streamQuery = z.object({
  token: z.string().optional().describe('Access token, for EventSource (which cannot set headers)'),
});

export const streamDescription = `Server-Sent Events (\`text/event-stream\`) with your friends' online status. Authenticate with the \`Authorization\` header, the \`token\` query parameter (EventSource cannot set headers) or the \`jwt_token\` cookie.

Events, each an \`event:\` line and one \`data:\` line of JSON:
- \`connected\` \`{"message": "Monitoring N friends", "friend_ids": [...]}\`: first, once.
- \`status\` \`{"user_id", "is_online"}\`: one per friend with their current state, then one for every change of a friend's presence, within a second, on whichever instance it happened.
- \`error\` \`{"message"}\`: a failure, such as live updates interrupted (they resume) or the token expired or revoked (the stream then closes).
- \`: keep-alive\` comment lines at least every 30 s.

Friendships accepted or ended while connected update what the stream watches. At most \`MAX_STREAMS_PER_USER\` open streams per user (429 beyond). The stream never ends by itself, so Swagger UI's "Execute" keeps loading: try it with \`curl -N -H "Authorization: Bearer <token>" <server>/api/online-status/stream\` or \`new EventSource("/api/online-status/stream?token=<token>")\`.`;

export const streamResponse = z
  .string()
  .meta({
    id: 'PresenceEventStream',
    description: 'An endless `text/event-stream` body',
    examples: [
      'event: connected\ndata: {"message":"Monitoring 1 friends","friend_ids":[2]}\n\nevent: status\ndata: {"user_id":2,"is_online":true}\n\n: keep-alive\n\n',
    ],
  });

export type UserStatusResponse = z.infer<typeof userStatusResponse>;
export type FriendStatus = z.infer<typeof friendStatus>;
