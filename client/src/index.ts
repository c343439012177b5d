export { ChatSendError, ChatSocket, type ChatSocketOptions, type LifecycleEvents, type WebSocketConstructor, type WebSocketLike } from './chat-socket.ts';
export { type EventSourceConstructor, type EventSourceLike, PresenceStream, RoomStream, type StreamOptions, UserStream } from './event-streams.ts';
export type { Attachment, ErrorCode, Message, Notification, Reaction, SendOptions, ServerFrame, ServerFrames, ServerFrameType } from './frames.ts';
export { type ApiClient, type ApiClientOptions, createApiClient, type Schema } from './api.ts';
