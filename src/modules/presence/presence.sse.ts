import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { sseHeaders } from '../../lib/sse.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { PresenceFriendStore } from './presence.friends.ts';
import type { WatcherRegistry } from './presence.registry.ts';
import { type PresenceTransport, PresenceStream, SsePresenceTransport, type StreamSettings } from './presence.stream.ts';

export interface PresenceSseOptions {
  registry: WatcherRegistry;
  friends: PresenceFriendStore;
  onlineFlags: (userIds: readonly number[]) => Promise<Map<number, boolean>>;
  tokens: TokenService;
  log: FastifyBaseLogger;
}

/**
 * The HTTP side of `GET /api/online-status/stream`: loads the viewer's friends and their
 * state, takes the response over from Fastify (hijack) and hands it to a PresenceStream
 * (SSE frames, keep-alive, congestion drop, token expiry). Ends a viewer's streams whose
 * token has been revoked (logout).
 */
export class PresenceSse {
  constructor(private readonly options: PresenceSseOptions) {}

  /**
   * Serves one stream. Friends and their flags are loaded before anything is written, so a
   * failure there is still an ordinary JSON error; from the first byte on, failures are `error`
   * events. The stream is in the registry before the snapshot is read, so no change is lost.
   */
  async open(auth: AuthContext, request: FastifyRequest, reply: FastifyReply, settings: StreamSettings): Promise<void> {
    const stream = this.register(auth, settings);
    const res = reply.raw;
    res.on('close', () => stream.close());
    const { friendIds, flags } = await this.load(stream);
    reply.hijack();
    if (stream.closed) {
      if (!res.destroyed) res.destroy();
      return;
    }
    stream.start(new SsePresenceTransport(res, sseHeaders(request, reply)), friendIds, flags);
    request.log.debug({ friends: friendIds.length }, 'presence stream opened');
  }

  /**
   * The same subscription on another transport (a chat socket's `presence_subscribe`), with
   * every rule of the SSE stream. The caller closes the returned stream when its socket closes.
   */
  async subscribe(viewer: Pick<AuthContext, 'userId' | 'jti' | 'expiresAt'>, transport: PresenceTransport, settings: StreamSettings): Promise<PresenceStream> {
    const stream = this.register(viewer, settings);
    const { friendIds, flags } = await this.load(stream);
    if (!stream.closed) stream.start(transport, friendIds, flags);
    return stream;
  }

  private register(viewer: Pick<AuthContext, 'userId' | 'jti' | 'expiresAt'>, settings: StreamSettings): PresenceStream {
    const stream = new PresenceStream(viewer.userId, viewer.jti, viewer.expiresAt, this.options.registry, settings);
    this.options.registry.add(stream);
    return stream;
  }

  /** The viewer's friends, watched from now on, and their flags; the stream is closed on failure. */
  private async load(stream: PresenceStream): Promise<{ friendIds: number[]; flags: Map<number, boolean> }> {
    const { registry } = this.options;
    try {
      const friendIds = await this.options.friends.friendIds(stream.viewerId);
      if (!stream.closed) for (const friendId of friendIds) registry.watch(stream, friendId);
      const flags = stream.closed ? new Map<number, boolean>() : await this.options.onlineFlags(friendIds);
      return { friendIds, flags };
    } catch (error) {
      stream.close();
      throw error;
    }
  }

  /** The user went offline: if it was a logout, their streams on the (now revoked) token end. */
  closeRevoked(userId: number): void {
    if (!this.options.registry.hasViewer(userId)) return; // the common case: no stream of theirs here
    void this.closeIfRevoked(userId, this.options.registry.streamsOf(userId));
  }

  private async closeIfRevoked(userId: number, streams: PresenceStream[]): Promise<void> {
    try {
      const revoked = await Promise.all(streams.map((stream) => this.options.tokens.isRevoked(stream.jti)));
      streams.forEach((stream, i) => {
        if (revoked[i]) stream.close('Token has been revoked');
      });
    } catch (error) {
      this.options.log.warn({ err: error, userId }, 'could not check stream tokens for revocation');
    }
  }
}
