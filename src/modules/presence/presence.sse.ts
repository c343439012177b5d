import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { PresenceFriendStore } from './presence.friends.ts';
import type { WatcherRegistry } from './presence.registry.ts';
import { PresenceStream, type StreamSettings } from './presence.stream.ts';

/** Headers already on the reply that a hijacked response must carry itself (CORS, mostly). */
const COPIED_HEADERS = /^(access-control-|vary$)/i;

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
    const { registry } = this.options;
    const stream = new PresenceStream(auth.userId, auth.jti, auth.expiresAt, registry, settings);
    registry.add(stream);
    const res = reply.raw;
    res.on('close', () => stream.close());

    let friendIds: number[];
    let flags: Map<number, boolean>;
    try {
      friendIds = await this.options.friends.friendIds(auth.userId);
      if (!stream.closed) for (const friendId of friendIds) registry.watch(stream, friendId);
      flags = stream.closed ? new Map() : await this.options.onlineFlags(friendIds);
    } catch (error) {
      stream.close();
      throw error;
    }
    reply.hijack();
    if (stream.closed) {
      if (!res.destroyed) res.destroy();
      return;
    }
    stream.start(res, headersFor(request, reply), friendIds, flags);
    request.log.debug({ friends: friendIds.length }, 'presence stream opened');
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

function headersFor(request: FastifyRequest, reply: FastifyReply): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  // Hijacked replies skip onSend hooks: carry over what @fastify/cors and friends already set.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && COPIED_HEADERS.test(name)) headers[name] = value;
  }
  return {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  };
}
