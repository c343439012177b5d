/**
 * Types of every REST route, generated from the server's OpenAPI document by openapi-typescript:
 * `npm run sdk:generate`. Do not edit: `npm test` fails when this file and the live document differ.
 */

export interface paths {
    "/api/attachments/{attachment_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The file (members only): images inline, anything else as a download; by its signed url, or with a token
         * @description Open the signed `url` or `thumbnail_url` of the attachment as it is (no header needed, for `<img src>`), or call with a token. Members only, checked on every fetch: a member who left or was removed is refused at once. Answers `ETag` and `Cache-Control: private, no-cache`, and 304 for an unchanged file.
         */
        get: operations["getAttachmentsByAttachmentId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/attachments/{attachment_id}/thumbnail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An image's thumbnail (WebP, at most 320 px a side; members only)
         * @description Open the signed `url` or `thumbnail_url` of the attachment as it is (no header needed, for `<img src>`), or call with a token. Members only, checked on every fetch: a member who left or was removed is refused at once. Answers `ETag` and `Cache-Control: private, no-cache`, and 304 for an unchanged file.
         */
        get: operations["getAttachmentsByAttachmentIdThumbnail"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in (OAuth2 password flow, form encoded; used by Swagger "Authorize")
         * @description The same login as `POST /api/auth/login/json` as an OAuth2 password-flow form (`application/x-www-form-urlencoded`): `username` takes a username or an email. Swagger UI's **Authorize** button calls it.
         */
        post: operations["postAuthLogin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login/json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in with email and password (JSON)
         * @description Checks the email (or username) and password and returns an access token (`Authorization: Bearer <access_token>`) valid for `expires_in` seconds; also sets the `jwt_token` cookie and marks you online. A wrong email and a wrong password both give 401 `invalid_credentials`. Failed logins are limited per account and IP (429 with `Retry-After`).
         */
        post: operations["postAuthLoginJson"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log out: revokes this token and marks me offline
         * @description Revokes this token on every server instance (it is refused with 401 from now on), clears the `jwt_token` cookie, marks you offline and tells your friends.
         */
        post: operations["postAuthLogout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The signed-in user
         * @description The account the token belongs to, email included.
         */
        get: operations["getAuthMe"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account
         * @description A new account: `username` 3-50 letters, digits or underscores; `password` 8-72 bytes, not a common password and not the username or email (400 says why). An email or username already taken: 409. Log in afterwards to get a token. Limited per IP (`AUTH_RATE_PER_IP` a minute).
         */
        post: operations["postAuthRegister"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/blocks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Users I blocked, newest first
         * @description The users you blocked, newest first, paginated with `limit` and `offset`.
         */
        get: operations["getBlocks"];
        put?: never;
        /**
         * Block a user (ends any friendship and pending request between us)
         * @description Blocks `user_id`: ends any friendship and pending request between you in one step. From then on neither of you can send the other friend requests, open a direct room, message directly or see the other's online status. Blocking yourself: 400; already blocked: 409.
         */
        post: operations["postBlocks"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/blocks/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Unblock a user
         * @description Removes your block of this user (404 when you had not blocked them). A block they put on you stays.
         */
        delete: operations["deleteBlocksByUserId"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/chat-rooms": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My rooms, direct and group, newest activity first, with last message and unread count
         * @description Every room you are in, direct and group, the most recently active first, each with its members, `last_message` and your `unread_count`; paginated with `limit` and `offset`.
         */
        get: operations["getChatRooms"];
        put?: never;
        /**
         * Open the direct room with a user (201 new, 200 existing; 403 when blocked)
         * @description The one direct room between you and `user_id`: created on first use (201), returned as it is afterwards (200); there is never more than one per pair. 403 when either of you blocked the other; 404 for unknown users. New rooms count against `ROOM_CREATE_PER_HOUR`.
         */
        post: operations["postChatRooms"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/chat-rooms/{room_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A room I am in (404 for non-members)
         * @description The room with its members, last message and your unread count. 404 when it does not exist or you are not a member.
         */
        get: operations["getChatRoomsByRoomId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/chat-rooms/{room_id}/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * My settings of a room: muted rooms raise no message notifications (members only)
         * @description Mute or unmute a room for me: a muted room raises no `message` notifications (mentions still do). 404 for unknown rooms, 403 for non-members.
         */
        patch: operations["patchChatRoomsByRoomIdSettings"];
        trace?: never;
    };
    "/api/chat-rooms/unread": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My unread message counts: the total and each room with unread messages
         * @description One call for all my rooms: `total`, and `rooms` with `unread_count` for each room that has unread messages (messages of others after my read pointer, since I joined).
         */
        get: operations["getChatRoomsUnread"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/events/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Everything of mine: all my rooms, notifications, presence (Server-Sent Events)
         * @description Server-Sent Events (`text/event-stream`), the fallback of the WebSocket chat for clients that cannot hold one. Authenticate with the `Authorization` header, the `token` query parameter or the `jwt_token` cookie. Each event is a WebSocket frame: `event:` is the frame `type`, `data:` the same JSON. First `connected`; `: keep-alive` comments at least every 30 s; `error` `{"message"}` before the server ends the stream. Room events carry `id:`, so EventSource resumes by itself through `Last-Event-ID` (or `?last_event_id=`): the events missed are replayed in order, exactly once; when they are no longer kept, a `reset` event `{"room_id"}` says to refetch that room over REST. This stream: the events of all my rooms (without joining them), `notification` events, and friends' presence (`presence_snapshot`, then `presence`). Its `id:` is an opaque cursor that resumes every room at once.
         */
        get: operations["getEventsStream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Unfriend a user
         * @description Ends your friendship with `user_id` (404 when you are not friends). Either side may end it.
         */
        delete: operations["deleteFriendsByUserId"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My friends, with online state and last seen
         * @description Your accepted friends with email, online state, `last_seen_at` and `last_seen_display` (Korean, relative: "방금전", "N분 전", "N시간 전", "N일 전"), paginated with `limit` and `offset`.
         */
        get: operations["getFriendsList"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/request": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a friend request (accepts theirs instead when they already asked me: 200)
         * @description Asks `user_id` to be your friend: 201 with a `pending` friendship. When they had already asked you, this accepts their request instead (200, `accepted`). To yourself: 400; already friends or already asked: 409; unknown, inactive or blocked either way: 404.
         */
        post: operations["postFriendsRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/request/{target_user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Cancel my pending friend request
         * @description Withdraws the request you sent to `target_user_id` (404 when there is no pending request from you to them).
         */
        delete: operations["deleteFriendsRequestByTargetUserId"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Pending friend requests: received by me and sent by me (limit/offset apply to each list)
         * @description Requests waiting for an answer: `received` (others asked you; answer with `PUT /api/friends/status/{requester_user_id}`) and `sent` (you asked; cancel with `DELETE /api/friends/request/{target_user_id}`).
         */
        get: operations["getFriendsRequests"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Find users to befriend by username or display name
         * @description Users whose username or display name contains `q` (at least 3 characters, else 400). Never you, your friends, inactive users or users blocked either way.
         */
        get: operations["getFriendsSearch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/friends/status/{requester_user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Accept or reject the pending request a user sent me
         * @description Answers the pending request that `requester_user_id` sent you: `accept` makes you friends, `reject` declines it. 404 when that user has no pending request to you.
         */
        put: operations["putFriendsStatusByRequesterUserId"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My group rooms; with discover=true, public rooms I am not in
         * @description The group rooms you are in; with `discover=true`, the public group rooms you could join instead. Paginated with `limit` and `offset`.
         */
        get: operations["getGroupRooms"];
        put?: never;
        /**
         * Create a group room; I become its owner, member_ids join as members
         * @description A new group room with you as `owner`. `member_ids` may list only your accepted friends (403 otherwise); they join as members. `max_members` is 2-1000 (default 100). Counts against `ROOM_CREATE_PER_HOUR` (429 beyond).
         */
        post: operations["postGroupRooms"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms/{room_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete the room and its messages (owner only)
         * @description Deletes the group room with all its messages and memberships; for the owner only (403).
         */
        delete: operations["deleteGroupRoomsByRoomId"];
        options?: never;
        head?: never;
        /**
         * Change name, description, privacy or max_members (owner or admin)
         * @description Changes the fields you send; for the owner and admins only (403). `max_members` below the current member count: 409.
         */
        patch: operations["patchGroupRoomsByRoomId"];
        trace?: never;
    };
    "/api/group-rooms/{room_id}/join": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Join a public room (private: 403, full: 409; already a member: 200, no change)
         * @description Joins a public group room as a member. Private rooms: 403 (a member must add you); full rooms: 409; already a member: 200 and nothing changes.
         */
        post: operations["postGroupRoomsByRoomIdJoin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms/{room_id}/leave": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Leave the room; an owner hands ownership to the oldest admin, else the oldest member
         * @description Leaves the group room. When the owner leaves, the oldest admin (else the oldest member) becomes owner. Direct rooms cannot be left: 403.
         */
        post: operations["postGroupRoomsByRoomIdLeave"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms/{room_id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Add a member (owner or admin; only the owner adds admins)
         * @description Adds `user_id` to the group room. Owner and admins may add members, only the owner adds admins; only the adder's accepted friends can be added (403). Already a member or the room is full: 409.
         */
        post: operations["postGroupRoomsByRoomIdMembers"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms/{room_id}/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Remove a member (owner or admin; never the owner; admins only plain members)
         * @description Removes `user_id` from the group room. The owner may remove anyone but themself; admins may remove plain members only (403 otherwise).
         */
        delete: operations["deleteGroupRoomsByRoomIdMembersByUserId"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/group-rooms/{room_id}/members/{user_id}/role": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Make a member admin or member (owner only; not the owner's own role)
         * @description Changes a member's role to `admin` or `member`; for the owner only, and never the owner's own role (403).
         */
        patch: operations["patchGroupRoomsByRoomIdMembersByUserIdRole"];
        trace?: never;
    };
    "/api/group-rooms/{room_id}/members/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Set my nickname in this room ("" resets it to my profile name)
         * @description Your name in this room only; an empty string or null goes back to your profile's display name.
         */
        patch: operations["patchGroupRoomsByRoomIdMembersMe"];
        trace?: never;
    };
    "/api/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * MySQL, Redis and message store checks with latency (503 naming the failing check)
         * @description Checks MySQL, Redis and the message store (MongoDB or MySQL) and reports each with its latency. 200 when all answer; 503 with the same body, the failing check marked `error`, when one does not. Never rate limited.
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness: 200 while the process runs
         * @description 200 as long as the process runs, without touching any dependency: for a container's liveness probe.
         */
        get: operations["getHealthLive"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness: 200 when MySQL, Redis and the message store answer
         * @description The same checks as `GET /api/health`: 200 when the instance can serve, 503 otherwise. For a load balancer's readiness probe.
         */
        get: operations["getHealthReady"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/health/redis": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Redis details (server version, memory): needs Authorization: Bearer <HEALTH_TOKEN> when HEALTH_TOKEN is set, and is refused (404) in production without one
         * @description Redis's version, connected clients and memory use. Needs `Authorization: Bearer <HEALTH_TOKEN>` when the server has a `HEALTH_TOKEN` (401 without a bearer token, 403 with a wrong one); in production without a `HEALTH_TOKEN` it is not served (404).
         */
        get: operations["getHealthRedis"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/health/redis/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Redis write/read/delete round trip (not available in production)
         * @description Writes, reads and deletes a test key in Redis and reports what happened, for checking a development set-up. 404 in production.
         */
        post: operations["postHealthRedisTest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * History, newest first; pass next_cursor as `before` for older messages
         * @description The room's messages, newest first, `limit` at a time (default 50, at most 100). When `has_more` is true, pass `next_cursor` as `before` to get the next older page. Deleted messages keep their place with `content: null`.
         */
        get: operations["getMessagesByRoomId"];
        put?: never;
        /**
         * Send a message (201; the same client_message_id again returns the first message with 200)
         * @description Stores a message in the room (members only: 403) and pushes it to the room's WebSocket clients on every instance. `content` is 1-4000 characters for text; image and file messages need `attachment_url`. Give a `client_message_id` to make retries safe: the same one again returns the first message with 200 instead of storing a second. Limited per user (`MESSAGE_RATE_PER_USER`, with REST and WebSocket sends together).
         */
        post: operations["postMessagesByRoomId"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}/{message_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Edit my message (author only; a deleted message: 409)
         * @description Replaces the text of your own message (others' messages: 403; a deleted one: 409). The message gets `is_edited`, `edited_at` and a higher `version`, and is pushed to the room.
         */
        put: operations["putMessagesByRoomIdByMessageId"];
        post?: never;
        /**
         * Delete a message (author, or a group owner/admin); it keeps its place with content null
         * @description Deletes a message: your own, or anyone's in a group you own or administer (403 otherwise). It stays in the history with `content: null` and `is_deleted: true`.
         */
        delete: operations["deleteMessagesByRoomIdByMessageId"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}/{message_id}/reactions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Toggle my reaction (like, love, laugh, sad, angry)
         * @description Adds your reaction of this kind to the message, or removes it if you had already given it, and returns the message with its `reactions` (user ids per kind). 409 on a deleted message.
         */
        post: operations["postMessagesByRoomIdByMessageIdReactions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}/attachments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload a file into the room (multipart field "file", at most ATTACHMENT_MAX_BYTES); send it with POST /api/messages/:room_id {message_type, attachment_id}
         * @description Members only. The type is judged by content: PNG, JPEG, WebP and GIF are images (decoded: 415 when they do not decode; with width, height and a thumbnail), anything else is a file served only as a download. 413 as soon as the body passes the limit. The upload is yours to send once, in this room, within 24 hours (it is deleted otherwise).
         */
        post: operations["postMessagesByRoomIdAttachments"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}/read": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mark everything up to this message as read by me (never moves backwards)
         * @description Moves your read pointer in this room to `message_id` (an older one than the current pointer changes nothing) and returns your read state with the remaining `unread_count`. The room's WebSocket clients get a `read_receipt`.
         */
        post: operations["postMessagesByRoomIdRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/{room_id}/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Messages of this room containing the text (case-insensitive), newest first
         * @description Messages of this room whose text contains `q` (case-insensitive), newest first, at most `limit`.
         */
        get: operations["getMessagesByRoomIdSearch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/messages/stream/{room_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One room's live events (Server-Sent Events)
         * @description Server-Sent Events (`text/event-stream`), the fallback of the WebSocket chat for clients that cannot hold one. Authenticate with the `Authorization` header, the `token` query parameter or the `jwt_token` cookie. Each event is a WebSocket frame: `event:` is the frame `type`, `data:` the same JSON. First `connected`; `: keep-alive` comments at least every 30 s; `error` `{"message"}` before the server ends the stream. Room events carry `id:`, so EventSource resumes by itself through `Last-Event-ID` (or `?last_event_id=`): the events missed are replayed in order, exactly once; when they are no longer kept, a `reset` event `{"room_id"}` says to refetch that room over REST. This stream: one room's events (`message`, `message_updated`, `message_deleted`, `reaction`, `read_receipt`, `room_updated`, `system`), then `joined` `{"room_id", "online_user_ids", "recovered"}` once caught up. Members only.
         */
        get: operations["getMessagesStreamByRoomId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/notifications": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My notifications, newest first; pass next_cursor as `before` for older ones
         * @description Friend requests, accepted requests, mentions (`@username`) and messages in rooms none of my sockets has joined (one unread `message` notification per room, whose `count` and `preview` follow the newest message; muted rooms raise none). `unread_only=true` lists the unread ones; `unread_count` counts them all. New and changed ones also arrive live as `notification` frames.
         */
        get: operations["getNotifications"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/notifications/read": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mark notifications read: `{ids}` (mine; others are ignored) or `{all: true}`
         * @description Answers my unread count after the change; my other sockets and user streams get a `notifications_read` frame.
         */
        post: operations["postNotificationsRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/online-status/friends": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Online status of my accepted friends
         * @description One entry per accepted friend: whether they are online now.
         */
        get: operations["getOnlineStatusFriends"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/online-status/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Keep me online (call every 30 s)
         * @description Marks you online for `ttl_seconds` (`PRESENCE_TTL_S`, default 300). Clients call it every 30 s; when the calls stop (and no WebSocket of yours is open) you go offline by yourself and your friends are told.
         */
        post: operations["postOnlineStatusHeartbeat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/online-status/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Live online status of my friends (Server-Sent Events)
         * @description Server-Sent Events (`text/event-stream`) with your friends' online status. Authenticate with the `Authorization` header, the `token` query parameter (EventSource cannot set headers) or the `jwt_token` cookie.
         *
         *     Events, each an `event:` line and one `data:` line of JSON:
         *     - `connected` `{"message": "Monitoring N friends", "friend_ids": [...]}`: first, once.
         *     - `status` `{"user_id", "is_online"}`: one per friend with their current state, then one for every change of a friend's presence, within a second, on whichever instance it happened.
         *     - `error` `{"message"}`: a failure, such as live updates interrupted (they resume) or the token expired or revoked (the stream then closes).
         *     - `: keep-alive` comment lines at least every 30 s.
         *
         *     Friendships accepted or ended while connected update what the stream watches. At most `MAX_STREAMS_PER_USER` open streams per user (429 beyond). The stream never ends by itself, so Swagger UI's "Execute" keeps loading: try it with `curl -N -H "Authorization: Bearer <token>" <server>/api/online-status/stream` or `new EventSource("/api/online-status/stream?token=<token>")`.
         */
        get: operations["getOnlineStatusStream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/online-status/user/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A user's online status (myself and my friends only)
         * @description Whether this user is online, and when they were last active. Only for yourself and your accepted friends (403 for anyone else; 404 for unknown users).
         */
        get: operations["getOnlineStatusUserByUserId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Another user's profile
         * @description Another user's profile; the email is shown only to their friends. 404 when the user is unknown, inactive, or when either of you blocked the other.
         */
        get: operations["getProfileByUserId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My profile
         * @description Your own profile, email included.
         */
        get: operations["getProfileMe"];
        /**
         * Update my display name and status message
         * @description Changes the fields you send (`null` clears one); fields you leave out stay as they are.
         */
        put: operations["putProfileMe"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/me/image": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload my avatar (multipart field "image"; PNG, JPEG, WebP or GIF; at most 5 MB)
         * @description Send the picture as the multipart field `image`. PNG, JPEG, WebP and GIF are accepted, judged by the file's content rather than its name (anything else: 415); at most 5 MB (413). Replaces your previous avatar; the response's `profile_image_url` points under `/uploads/`.
         */
        post: operations["postProfileMeImage"];
        /**
         * Remove my avatar
         * @description Deletes your avatar file; `profile_image_url` becomes null.
         */
        delete: operations["deleteProfileMeImage"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Several users by id
         * @description At most 100 ids; duplicates count once. Unknown, inactive and blocked users are left out; the others come in the order asked.
         */
        get: operations["getUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user
         * @description Same rules as `GET /api/profile/{user_id}`: 404 when unknown, inactive, or blocked either way.
         */
        get: operations["getUsersByUserId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search the user directory
         * @description Every active user but me and users blocked either way whose username or display name contains `q` (case-insensitive): those starting with `q` first, then the rest. Each with whether we are friends and any pending friend request between us.
         */
        get: operations["getUsersSearch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/ws/rooms/{room_id}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A live room's state (active, idle, closed) and who is connected, over all instances
         * @description For members of the room (403 otherwise): `active` while someone is connected to it over WebSocket (on any instance), `idle` once the last one left, `closed` after `ROOM_IDLE_TIMEOUT_S` of idleness; `online_user_ids` lists who is connected now.
         */
        get: operations["getWsRoomsByRoomIdStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @example {
         *       "id": "3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e",
         *       "room_id": 10,
         *       "uploader_id": 1,
         *       "name": "beach.jpg",
         *       "size": 482133,
         *       "content_type": "image/jpeg",
         *       "kind": "image",
         *       "width": 1600,
         *       "height": 1200,
         *       "url": "/api/attachments/3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e?u=1&exp=1769160600&sig=0f1e2d3c4b5a",
         *       "thumbnail_url": "/api/attachments/3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e/thumbnail?u=1&exp=1769160600&sig=a5b4c3d2e1f0",
         *       "created_at": "2026-01-23T09:30:00.000Z"
         *     }
         */
        Attachment: {
            /** @description Judged by content: the image type, or the sniffed type of a file (application/octet-stream when unknown) */
            content_type: string;
            created_at: string;
            /** @description Images only */
            height: number | null;
            /** @description Opaque attachment id */
            id: string;
            /** @enum {string} */
            kind: "image" | "file";
            /** @description The file name as uploaded, for display only */
            name: string;
            room_id: number;
            /** @description Bytes */
            size: number;
            /** @description Images only: a WebP of at most 320 px a side, signed like url */
            thumbnail_url: string | null;
            uploader_id: number;
            /** @description Signed and expiring (ATTACHMENT_URL_TTL_S): works in <img src> without headers */
            url: string;
            /** @description Images only */
            width: number | null;
        };
        /**
         * Format: binary
         * @description The file itself
         */
        AttachmentBytes: string;
        AttachmentResponse: {
            attachment: components["schemas"]["Attachment"];
        };
        AttachmentUploadInput: {
            /**
             * Format: binary
             * @description Any file, at most ATTACHMENT_MAX_BYTES; PNG, JPEG, WebP and GIF (judged by content) are images
             */
            file: string;
        };
        AvatarUploadInput: {
            /**
             * Format: binary
             * @description PNG, JPEG, WebP or GIF (judged by content), at most 5 MB
             */
            image: string;
        };
        /**
         * @example {
         *       "user_id": 2,
         *       "username": "grace_hopper",
         *       "display_name": "Grace Hopper",
         *       "blocked_at": "2026-01-23T09:30:00.000Z"
         *     }
         */
        BlockedUser: {
            blocked_at: string;
            display_name: string | null;
            user_id: number;
            username: string;
        };
        BlockedUserList: components["schemas"]["BlockedUser"][];
        /**
         * @example {
         *       "user_id": 2
         *     }
         */
        DirectRoomInput: {
            /** @description The other user */
            user_id: number;
        };
        /**
         * @description The body of every error response
         * @example {
         *       "error": "not_found",
         *       "message": "Room 42 not found"
         *     }
         */
        Error: {
            /** @description For validation_error: where and why, one entry per problem */
            details?: unknown[];
            /**
             * @description Stable machine-readable code
             * @enum {string}
             */
            error: "validation_error" | "invalid_credentials" | "invalid_token" | "forbidden" | "not_found" | "conflict" | "payload_too_large" | "unsupported_media_type" | "rate_limited" | "internal_error" | "service_unavailable";
            /** @description For people; may change */
            message: string;
        };
        /**
         * @example {
         *       "user_id": 2,
         *       "username": "grace_hopper",
         *       "display_name": "Grace Hopper",
         *       "email": "grace@example.com",
         *       "profile_image_url": null,
         *       "is_online": false,
         *       "last_seen_at": "2026-01-23T07:30:00.000Z",
         *       "last_seen_display": "2시간 전"
         *     }
         */
        Friend: {
            display_name: string | null;
            email: string;
            is_online: boolean;
            last_seen_at: string | null;
            /** @description "방금전" (online or under 5 min), "N분 전", "N시간 전" or "N일 전"; null when offline and never seen */
            last_seen_display: string | null;
            profile_image_url: string | null;
            user_id: number;
            username: string;
        };
        FriendList: components["schemas"]["Friend"][];
        /**
         * @example {
         *       "user_id": 2,
         *       "is_online": true
         *     }
         */
        FriendOnlineStatus: {
            is_online: boolean;
            user_id: number;
        };
        FriendOnlineStatusList: components["schemas"]["FriendOnlineStatus"][];
        /**
         * @example {
         *       "user_id": 3,
         *       "username": "alan_turing",
         *       "display_name": null,
         *       "profile_image_url": null,
         *       "created_at": "2026-01-23T09:30:00.000Z"
         *     }
         */
        FriendRequest: {
            created_at: string;
            display_name: string | null;
            profile_image_url: string | null;
            /** @description The other user (the requester in `received`, the addressee in `sent`) */
            user_id: number;
            username: string;
        };
        /**
         * @example {
         *       "action": "accept"
         *     }
         */
        FriendRequestAnswerInput: {
            /** @enum {string} */
            action: "accept" | "reject";
        };
        FriendRequests: {
            received: components["schemas"]["FriendRequest"][];
            sent: components["schemas"]["FriendRequest"][];
        };
        /**
         * @example {
         *       "id": 7,
         *       "requester_id": 1,
         *       "addressee_id": 2,
         *       "status": "pending",
         *       "created_at": "2026-01-23T09:30:00.000Z",
         *       "updated_at": "2026-01-23T09:30:00.000Z"
         *     }
         */
        Friendship: {
            addressee_id: number;
            created_at: string;
            id: number;
            requester_id: number;
            /** @enum {string} */
            status: "pending" | "accepted" | "rejected";
            updated_at: string;
        };
        FriendshipResponse: {
            friendship: components["schemas"]["Friendship"];
        };
        /**
         * @example {
         *       "name": "Study group (spring)",
         *       "max_members": 50
         *     }
         */
        GroupRoomUpdateInput: {
            description?: string | null;
            is_private?: boolean;
            max_members?: number;
            name?: string;
        };
        HealthCheck: {
            error?: string;
            kind?: string;
            latency_ms: number;
            /** @enum {string} */
            status: "ok" | "error";
        };
        HealthReport: {
            checks: {
                message_store: components["schemas"]["HealthCheck"];
                mysql: components["schemas"]["HealthCheck"];
                redis: components["schemas"]["HealthCheck"];
            };
            /** @constant */
            error?: "service_unavailable";
            message?: string;
            /** @enum {string} */
            status: "ok" | "error";
        };
        Liveness: {
            /** @constant */
            status: "ok";
            uptime_s: number;
        };
        /**
         * @example {
         *       "room_id": 10,
         *       "state": "active",
         *       "online_user_ids": [
         *         1,
         *         2
         *       ]
         *     }
         */
        LiveRoomStatus: {
            online_user_ids: number[];
            room_id: number;
            /** @enum {string} */
            state: "active" | "idle" | "closed";
        };
        /**
         * @example {
         *       "username": "ada_lovelace",
         *       "password": "analytical-engine-1843"
         *     }
         */
        LoginFormInput: {
            client_id?: string;
            client_secret?: string;
            /** @example password */
            grant_type?: string;
            /** @example analytical-engine-1843 */
            password: string;
            scope?: string;
            /**
             * @description Username or email
             * @example ada_lovelace
             */
            username: string;
        };
        /**
         * @example {
         *       "email": "ada@example.com",
         *       "password": "analytical-engine-1843"
         *     }
         */
        LoginInput: {
            /** @description Email (a username works too) */
            email: string;
            password: string;
        };
        /**
         * @example {
         *       "id": "65b0c0ffee0000000000002a",
         *       "room_id": 10,
         *       "seq": 42,
         *       "user_id": 1,
         *       "content": "안녕하세요! Hello 👋",
         *       "message_type": "text",
         *       "attachment_url": null,
         *       "attachment": null,
         *       "reply_to": null,
         *       "is_edited": false,
         *       "edited_at": null,
         *       "is_deleted": false,
         *       "reactions": {
         *         "like": [
         *           2
         *         ]
         *       },
         *       "created_at": "2026-01-23T09:30:00.000Z",
         *       "client_message_id": "0b7e4c1a-5d2f-4f7e-9a3b-2c1d0e9f8a7b",
         *       "version": 2
         *     }
         */
        Message: {
            /** @description The uploaded attachment this message sends (attachment_url is then its url) */
            attachment: components["schemas"]["Attachment"] | null;
            attachment_url: string | null;
            client_message_id: string | null;
            /** @description null once the message is deleted */
            content: string | null;
            created_at: string;
            edited_at: string | null;
            /** @description Opaque message id */
            id: string;
            is_deleted: boolean;
            is_edited: boolean;
            /** @enum {string} */
            message_type: "text" | "image" | "file" | "sticker" | "system";
            /** @description User ids per reaction kind */
            reactions: {
                [key: string]: number[];
            };
            reply_to: string | null;
            room_id: number;
            /** @description The message's position in its room: 1, 2, 3, ... in the order messages were stored */
            seq: number;
            user_id: number;
            /** @description 1 when sent, +1 with every edit, deletion or reaction; of two copies of a message, keep the higher version */
            version: number;
        };
        /**
         * @example {
         *       "content": "안녕하세요! (edited)"
         *     }
         */
        MessageEditInput: {
            /** @description 1-4000 characters after trimming */
            content: string;
        };
        MessageHistory: {
            has_more: boolean;
            /** @description Newest first */
            messages: components["schemas"]["Message"][];
            next_cursor: string | null;
        };
        MessageList: {
            messages: components["schemas"]["Message"][];
        };
        MessageResponse: {
            message: components["schemas"]["Message"];
        };
        /**
         * @example {
         *       "user_id": 2
         *     }
         */
        NewBlockInput: {
            /** @description The user to block */
            user_id: number;
        };
        /**
         * @example {
         *       "user_id": 2
         *     }
         */
        NewFriendRequestInput: {
            /** @description The user to befriend */
            user_id: number;
        };
        /**
         * @example {
         *       "name": "Study group",
         *       "description": "Algorithms, Tuesdays at 7",
         *       "is_private": false,
         *       "max_members": 100
         *     }
         */
        NewGroupRoomInput: {
            description?: string | null;
            /** @default false */
            is_private?: boolean;
            /**
             * @description 2-1000, default 100
             * @default 100
             */
            max_members?: number;
            /**
             * @description Users added as members
             * @default []
             */
            member_ids?: number[];
            name: string;
        };
        /**
         * @example {
         *       "content": "안녕하세요! Hello 👋",
         *       "message_type": "text"
         *     }
         */
        NewMessageInput: {
            /** @description For image and file messages: my upload into this room (POST /api/messages/:room_id/attachments), sent once */
            attachment_id?: string | null;
            /** @description Without attachment_id: an https: URL or one of this server's own /uploads/ or /api/attachments/ URLs */
            attachment_url?: string | null;
            /** @description The client's temporary id: sending it again returns the first message (200) instead of a new one */
            client_message_id?: string | null;
            /** @description Required for text: 1-4000 characters after trimming */
            content?: string | null;
            /**
             * @description "system" is reserved for the server
             * @default text
             * @enum {string}
             */
            message_type?: "text" | "image" | "file" | "sticker" | "system";
            /** @description Id of a message in the same room */
            reply_to?: string | null;
        };
        /**
         * @example {
         *       "user_id": 2,
         *       "role": "member"
         *     }
         */
        NewRoomMemberInput: {
            /**
             * @default member
             * @enum {string}
             */
            role?: "admin" | "member";
            user_id: number;
        };
        /**
         * @example {
         *       "nickname": "Ada"
         *     }
         */
        NicknameChangeInput: {
            /** @description Empty string (or null) resets to the profile name */
            nickname: string | null;
        };
        Notification: {
            /** @description Who caused it: the requester, the accepter, the sender (for `message`: of the newest message) */
            actor_id: number | null;
            /** @description `message`: messages that arrived while it was unread; otherwise 1 */
            count: number;
            /** @description For `message`: the time of its newest message */
            created_at: string;
            id: number;
            /** @description The message (for `message`: the newest one) */
            message_id: string | null;
            /** @description The first 100 characters of the message; a short label for images and files */
            preview: string | null;
            read_at: string | null;
            room_id: number | null;
            /** @enum {string} */
            type: "friend_request" | "friend_accepted" | "message" | "mention";
        };
        NotificationPage: {
            has_more: boolean;
            next_cursor: string | null;
            /** @description Newest first */
            notifications: components["schemas"]["Notification"][];
            /** @description All my unread notifications, not only this page */
            unread_count: number;
        };
        /**
         * @description Either `ids` or `all: true`
         * @example {
         *       "ids": [
         *         1,
         *         2
         *       ]
         *     }
         * @example {
         *       "all": true
         *     }
         */
        NotificationsReadInput: {
            /** @description My notifications; ids of anyone else's are ignored */
            ids: number[];
        } | {
            /** @constant */
            all: true;
        };
        NotificationUnreadCount: {
            unread_count: number;
        };
        /**
         * @description An endless `text/event-stream` body
         * @example event: connected
         *     data: {"message":"Monitoring 1 friends","friend_ids":[2]}
         *
         *     event: status
         *     data: {"user_id":2,"is_online":true}
         *
         *     : keep-alive
         */
        PresenceEventStream: string;
        /**
         * @example {
         *       "user_id": 1,
         *       "is_online": true,
         *       "ttl_seconds": 300
         *     }
         */
        PresenceHeartbeat: {
            /** @constant */
            is_online: true;
            /** @description Seconds the user stays online without another heartbeat */
            ttl_seconds: number;
            user_id: number;
        };
        /**
         * @example {
         *       "display_name": "Ada Lovelace",
         *       "status_message": "오늘도 좋은 하루 🙂"
         *     }
         */
        ProfileUpdateInput: {
            display_name?: string | null;
            status_message?: string | null;
        };
        /**
         * @example {
         *       "reaction": "like"
         *     }
         */
        ReactionToggleInput: {
            /** @enum {string} */
            reaction: "like" | "love" | "laugh" | "sad" | "angry";
        };
        /**
         * @example {
         *       "message_id": "65b0c0ffee0000000000002a"
         *     }
         */
        ReadMarkInput: {
            message_id: string;
        };
        /**
         * @example {
         *       "room_id": 10,
         *       "user_id": 1,
         *       "last_read_message_id": "65b0c0ffee0000000000002a",
         *       "read_at": "2026-01-23T09:31:00.000Z",
         *       "unread_count": 0
         *     }
         */
        ReadState: {
            last_read_message_id: string | null;
            read_at: string | null;
            room_id: number;
            unread_count: number;
            user_id: number;
        };
        RedisReport: {
            connected_clients: number | null;
            /** @constant */
            error?: "service_unavailable";
            latency_ms: number;
            message?: string;
            /** @enum {string} */
            status: "ok" | "error";
            used_memory: number | null;
            version: string | null;
        };
        RedisRoundTrip: {
            deleted: boolean;
            key: string;
            latency_ms: number;
            read: string | null;
            /** @constant */
            status: "ok";
            written: string;
        };
        /**
         * @example {
         *       "email": "ada@example.com",
         *       "username": "ada_lovelace",
         *       "password": "analytical-engine-1843",
         *       "display_name": "Ada Lovelace"
         *     }
         */
        RegisterInput: {
            display_name?: string;
            /** Format: email */
            email: string;
            /** @description 8-72 bytes of UTF-8 (bcrypt reads no more); not a common password; not the username or email */
            password: string;
            username: string;
        };
        /**
         * @example {
         *       "role": "admin"
         *     }
         */
        RoleChangeInput: {
            /** @enum {string} */
            role: "admin" | "member";
        };
        /**
         * @example {
         *       "id": 10,
         *       "type": "group",
         *       "name": "Study group",
         *       "description": "Algorithms, Tuesdays at 7",
         *       "is_private": false,
         *       "max_members": 100,
         *       "created_by": 1,
         *       "created_at": "2026-01-23T09:00:00.000Z",
         *       "updated_at": "2026-01-23T09:30:00.000Z",
         *       "members": [
         *         {
         *           "user_id": 1,
         *           "username": "ada_lovelace",
         *           "display_name": "Ada Lovelace",
         *           "nickname": null,
         *           "role": "owner",
         *           "joined_at": "2026-01-23T09:00:00.000Z"
         *         },
         *         {
         *           "user_id": 2,
         *           "username": "grace_hopper",
         *           "display_name": "Grace Hopper",
         *           "nickname": "Grace",
         *           "role": "member",
         *           "joined_at": "2026-01-23T09:05:00.000Z"
         *         }
         *       ],
         *       "last_message": {
         *         "id": "65b0c0ffee0000000000002a",
         *         "room_id": 10,
         *         "seq": 42,
         *         "user_id": 1,
         *         "content": "안녕하세요! Hello 👋",
         *         "message_type": "text",
         *         "attachment_url": null,
         *         "attachment": null,
         *         "reply_to": null,
         *         "is_edited": false,
         *         "edited_at": null,
         *         "is_deleted": false,
         *         "reactions": {
         *           "like": [
         *             2
         *           ]
         *         },
         *         "created_at": "2026-01-23T09:30:00.000Z",
         *         "client_message_id": "0b7e4c1a-5d2f-4f7e-9a3b-2c1d0e9f8a7b",
         *         "version": 2
         *       },
         *       "unread_count": 0
         *     }
         */
        Room: {
            created_at: string;
            created_by: number;
            description: string | null;
            id: number;
            is_private: boolean;
            last_message: components["schemas"]["Message"] | null;
            max_members: number;
            members: components["schemas"]["RoomMember"][];
            name: string | null;
            /** @enum {string} */
            type: "direct" | "group";
            unread_count: number;
            updated_at: string;
        };
        /**
         * @description An endless `text/event-stream` body
         * @example event: connected
         *     data: {"room_id":10}
         *
         *     event: joined
         *     data: {"type":"joined","room_id":10,"online_user_ids":[1],"recovered":false}
         */
        RoomEventStream: string;
        /** @description Newest activity first */
        RoomList: components["schemas"]["Room"][];
        /**
         * @example {
         *       "user_id": 1,
         *       "username": "ada_lovelace",
         *       "display_name": "Ada Lovelace",
         *       "nickname": null,
         *       "role": "owner",
         *       "joined_at": "2026-01-23T09:00:00.000Z"
         *     }
         */
        RoomMember: {
            display_name: string | null;
            joined_at: string;
            /** @description Name in this room; null means the profile name */
            nickname: string | null;
            /** @enum {string} */
            role: "owner" | "admin" | "member";
            user_id: number;
            username: string;
        };
        RoomResponse: {
            room: components["schemas"]["Room"];
        };
        RoomSettings: {
            muted: boolean;
            room_id: number;
        };
        /**
         * @example {
         *       "muted": true
         *     }
         */
        RoomSettingsChangeInput: {
            /** @description A muted room raises no `message` notifications for me */
            muted: boolean;
        };
        /**
         * @example {
         *       "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
         *       "token_type": "bearer",
         *       "expires_in": 3600,
         *       "user": {
         *         "id": 1,
         *         "email": "ada@example.com",
         *         "username": "ada_lovelace",
         *         "display_name": "Ada Lovelace",
         *         "profile_image_url": null,
         *         "status_message": "오늘도 좋은 하루 🙂",
         *         "is_online": true,
         *         "last_seen_at": "2026-01-23T09:30:00.000Z",
         *         "created_at": "2026-01-20T08:00:00.000Z"
         *       }
         *     }
         */
        TokenResponse: {
            access_token: string;
            /** @description Lifetime of the token in seconds */
            expires_in: number;
            /** @constant */
            token_type: "bearer";
            user: components["schemas"]["User"];
        };
        UnreadSummary: {
            /** @description Only rooms with unread messages, newest activity first */
            rooms: {
                room_id: number;
                unread_count: number;
            }[];
            /** @description Unread messages over all my rooms */
            total: number;
        };
        /**
         * @example {
         *       "id": 1,
         *       "email": "ada@example.com",
         *       "username": "ada_lovelace",
         *       "display_name": "Ada Lovelace",
         *       "profile_image_url": null,
         *       "status_message": "오늘도 좋은 하루 🙂",
         *       "is_online": true,
         *       "last_seen_at": "2026-01-23T09:30:00.000Z",
         *       "created_at": "2026-01-20T08:00:00.000Z"
         *     }
         */
        User: {
            created_at: string;
            display_name: string | null;
            /** @description Shown only to the user themself and their friends */
            email: string | null;
            id: number;
            is_online: boolean;
            last_seen_at: string | null;
            profile_image_url: string | null;
            status_message: string | null;
            username: string;
        };
        UserDirectoryEntries: components["schemas"]["UserDirectoryEntry"][];
        UserDirectoryEntry: {
            display_name: string | null;
            /** @description A pending friend request: `sent` by me, `received` from them; null when none */
            friend_request: ("sent" | "received") | null;
            is_friend: boolean;
            profile_image_url: string | null;
            user_id: number;
            username: string;
        };
        /**
         * @description An endless `text/event-stream` body
         * @example event: connected
         *     id: eyJ0IjoxLCJyIjoie30ifQ
         *     data: {"room_ids":[10],"recovered":false}
         */
        UserEventStream: string;
        /**
         * @example {
         *       "user_id": 2,
         *       "status": "online",
         *       "is_online": true,
         *       "last_activity": "2026-01-23T09:30:00.000Z"
         *     }
         */
        UserOnlineStatus: {
            is_online: boolean;
            /** @description Online: last login or heartbeat. Offline: when they were last seen (null if never). */
            last_activity: string | null;
            /** @enum {string} */
            status: "online" | "offline";
            user_id: number;
        };
        UserResponse: {
            user: components["schemas"]["User"];
        };
        Users: components["schemas"]["User"][];
        /**
         * @example {
         *       "user_id": 3,
         *       "username": "alan_turing",
         *       "display_name": "Alan Turing",
         *       "profile_image_url": null
         *     }
         */
        UserSearchResult: {
            display_name: string | null;
            profile_image_url: string | null;
            user_id: number;
            username: string;
        };
        UserSearchResults: components["schemas"]["UserSearchResult"][];
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getAttachmentsByAttachmentId: {
        parameters: {
            query?: {
                /** @description Expiry, Unix seconds */
                exp?: number;
                /** @description Signature */
                sig?: string;
                /** @description Signed for the room at this time (live events) */
                t?: number;
                /** @description Signed for this member */
                u?: number;
            };
            header?: never;
            path: {
                /** @description Opaque attachment id */
                attachment_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file (`Content-Disposition` inline for images, attachment otherwise) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": components["schemas"]["AttachmentBytes"];
                };
            };
            /** @description Not modified (If-None-Match matched the ETag) */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": components["schemas"]["AttachmentBytes"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAttachmentsByAttachmentIdThumbnail: {
        parameters: {
            query?: {
                /** @description Expiry, Unix seconds */
                exp?: number;
                /** @description Signature */
                sig?: string;
                /** @description Signed for the room at this time (live events) */
                t?: number;
                /** @description Signed for this member */
                u?: number;
            };
            header?: never;
            path: {
                /** @description Opaque attachment id */
                attachment_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file (`Content-Disposition` inline for images, attachment otherwise) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": components["schemas"]["AttachmentBytes"];
                };
            };
            /** @description Not modified (If-None-Match matched the ETag) */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": components["schemas"]["AttachmentBytes"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postAuthLogin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["LoginFormInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postAuthLoginJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postAuthLogout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAuthMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postAuthRegister: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterInput"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getBlocks: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BlockedUserList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postBlocks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewBlockInput"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BlockedUser"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteBlocksByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getChatRooms: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postChatRooms: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DirectRoomInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getChatRoomsByRoomId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    patchChatRoomsByRoomIdSettings: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoomSettingsChangeInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomSettings"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getChatRoomsUnread: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnreadSummary"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getEventsStream: {
        parameters: {
            query?: {
                /** @description Resume after this event id (else the Last-Event-ID header) */
                last_event_id?: string;
                /** @description Access token, for EventSource (which cannot set headers) */
                token?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An endless event stream (see above) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["UserEventStream"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteFriendsByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getFriendsList: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postFriendsRequest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewFriendRequestInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendshipResponse"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendshipResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteFriendsRequestByTargetUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                target_user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getFriendsRequests: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendRequests"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getFriendsSearch: {
        parameters: {
            query: {
                limit?: number;
                offset?: number;
                /** @description At least 3 characters; matches username or display name */
                q: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserSearchResults"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    putFriendsStatusByRequesterUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                requester_user_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FriendRequestAnswerInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendshipResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getGroupRooms: {
        parameters: {
            query?: {
                /** @description true: public rooms I am not in */
                discover?: "0" | "1" | "true" | "false";
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postGroupRooms: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewGroupRoomInput"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteGroupRoomsByRoomId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    patchGroupRoomsByRoomId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GroupRoomUpdateInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postGroupRoomsByRoomIdJoin: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postGroupRoomsByRoomIdLeave: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postGroupRoomsByRoomIdMembers: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewRoomMemberInput"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteGroupRoomsByRoomIdMembersByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    patchGroupRoomsByRoomIdMembersByUserIdRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
                user_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoleChangeInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    patchGroupRoomsByRoomIdMembersMe: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NicknameChangeInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
        };
    };
    getHealthLive: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Liveness"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHealthReady: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
        };
    };
    getHealthRedis: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RedisReport"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RedisReport"];
                };
            };
        };
    };
    postHealthRedisTest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RedisRoundTrip"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMessagesByRoomId: {
        parameters: {
            query?: {
                /** @description `next_cursor` of the previous page */
                before?: string;
                limit?: number;
            };
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageHistory"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postMessagesByRoomId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewMessageInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    putMessagesByRoomIdByMessageId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Opaque message id */
                message_id: string;
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MessageEditInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteMessagesByRoomIdByMessageId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Opaque message id */
                message_id: string;
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postMessagesByRoomIdByMessageIdReactions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Opaque message id */
                message_id: string;
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReactionToggleInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: the request clashes with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postMessagesByRoomIdAttachments: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": components["schemas"]["AttachmentUploadInput"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AttachmentResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postMessagesByRoomIdRead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReadMarkInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadState"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMessagesByRoomIdSearch: {
        parameters: {
            query: {
                limit?: number;
                /** @description Text to find (case-insensitive) in this room */
                q: string;
            };
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMessagesStreamByRoomId: {
        parameters: {
            query?: {
                /** @description Resume after this event id (else the Last-Event-ID header) */
                last_event_id?: string;
                /** @description Access token, for EventSource (which cannot set headers) */
                token?: string;
            };
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An endless event stream (see above) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["RoomEventStream"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getNotifications: {
        parameters: {
            query?: {
                /** @description next_cursor of the previous page */
                before?: string;
                limit?: number;
                /** @description true: unread notifications only */
                unread_only?: "0" | "1" | "true" | "false";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotificationPage"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postNotificationsRead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NotificationsReadInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotificationUnreadCount"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOnlineStatusFriends: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FriendOnlineStatusList"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postOnlineStatusHeartbeat: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PresenceHeartbeat"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOnlineStatusStream: {
        parameters: {
            query?: {
                /** @description Access token, for EventSource (which cannot set headers) */
                token?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An endless event stream (see above) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["PresenceEventStream"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOnlineStatusUserByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserOnlineStatus"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getProfileByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getProfileMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    putProfileMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProfileUpdateInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postProfileMeImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": components["schemas"]["AvatarUploadInput"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteProfileMeImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `payload_too_large`: the body is over the size limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsers: {
        parameters: {
            query: {
                /** @description Comma-separated user ids, at most 100 */
                ids: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Users"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsersByUserId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsersSearch: {
        parameters: {
            query: {
                limit?: number;
                /** @description At least 2 characters; matched case-insensitively against username and display name, `%` and `_` literally */
                q: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserDirectoryEntries"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getWsRoomsByRoomIdStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                room_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LiveRoomStatus"];
                };
            };
            /** @description `validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `forbidden`: not allowed for you, or a cookie-only request from a page of another site */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `not_found`: no such resource, or it is hidden from you */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `unsupported_media_type`: a body type or `Content-Encoding` this route does not take */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `rate_limited`: too many requests; wait `Retry-After` seconds */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
