import type { FastifyBaseLogger } from 'fastify';
import type { DomainEvent, DomainEventOf } from '../../lib/domain-events.ts';
import { badRequest, conflict, notFound } from '../../lib/errors.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import type { UserService } from '../users/user.service.ts';
import { toUserSummary } from '../users/user.view.ts';
import type {
  FriendRequestView,
  FriendshipView,
  FriendView,
  Page,
  RespondAction,
  UserSearchResult,
} from './friends.schemas.ts';
import { BlockedPairError, type FriendRow, type FriendsStore, type FriendshipRecord, type RequestRow } from './friends.store.ts';
import { FriendListCache } from './friend-list.cache.ts';
import type { FriendPresence, LiveStates } from './friend-presence.ts';
import { lastSeenDisplay } from './last-seen-display.ts';

/** How often a request re-reads the pair when a concurrent writer changed it under us. */
const MAX_REQUEST_ATTEMPTS = 5;

export interface FriendRequestOutcome {
  /** `requested`: a new pending request (201); `accepted`: it accepted their request to me (200). */
  outcome: 'requested' | 'accepted';
  friendship: FriendshipView;
}

export function toFriendshipView(row: FriendshipRecord): FriendshipView {
  return {
    id: row.id,
    requester_id: row.requesterId,
    addressee_id: row.addresseeId,
    status: row.status,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function toRequestView(row: RequestRow): FriendRequestView {
  return {
    user_id: row.userId,
    username: row.username,
    display_name: row.displayName,
    profile_image_url: row.profileImageUrl,
    created_at: row.createdAt.toISOString(),
  };
}

function requestChanged(row: FriendshipRecord, status: 'pending' | 'accepted', at: Date): DomainEventOf<'friend_request_changed'> {
  return { type: 'friend_request_changed', friendship_id: row.id, requester_id: row.requesterId, addressee_id: row.addresseeId, status, at: at.toISOString() };
}

/** Friend requests, friendships and user search. Blocks are checked through RelationshipService. */
export class FriendsService {
  constructor(
    private readonly store: FriendsStore,
    private readonly users: UserService,
    private readonly relationships: RelationshipService,
    private readonly presence: FriendPresence,
    private readonly events: Pick<EventBus, 'publishAfterCommit'>,
    private readonly log: FastifyBaseLogger,
    private readonly clock: () => Date = () => new Date(),
    /** Friend lists of this process; the module drops entries on the events that change them. */
    readonly lists: FriendListCache = new FriendListCache(),
  ) {}

  /**
   * Sends a friend request. If the target had already asked me, this accepts their request.
   * The pair's row is unique whichever side asked, so concurrent requests between the same two
   * users serialise on it: a writer that loses re-reads the row and acts on what it finds.
   */
  async request(userId: number, targetId: number): Promise<FriendRequestOutcome> {
    if (userId === targetId) throw badRequest('You cannot send a friend request to yourself');
    const [target, blocked] = await Promise.all([
      this.users.findActiveById(targetId),
      this.relationships.isBlockedEitherWay(userId, targetId),
    ]);
    if (!target || blocked) throw notFound(`User ${targetId} not found`);
    try {
      return await this.requestOrAccept(userId, targetId);
    } catch (error) {
      // A block landed after the check above: the store's write saw it and wrote nothing.
      if (error instanceof BlockedPairError) throw notFound(`User ${targetId} not found`);
      throw error;
    }
  }

  private async requestOrAccept(userId: number, targetId: number): Promise<FriendRequestOutcome> {
    for (let attempt = 0; attempt < MAX_REQUEST_ATTEMPTS; attempt += 1) {
      const existing = await this.store.findPair(userId, targetId);
      if (!existing) {
        const created = await this.store.createPending(userId, targetId);
        if (created) return this.requested(created);
        continue; // the other side (or a double click) inserted the row first: re-read it
      }
      if (existing.status === 'accepted') throw conflict(`You are already friends with user ${targetId}`);
      if (existing.status === 'pending' && existing.requesterId === userId) {
        throw conflict(`You already sent user ${targetId} a friend request`);
      }
      if (existing.status === 'pending') {
        const accepted = await this.store.transition(
          userId,
          targetId,
          { status: 'pending', requesterId: targetId, addresseeId: userId },
          { status: 'accepted' },
        );
        if (accepted) {
          await this.publishAccepted(accepted);
          return { outcome: 'accepted', friendship: toFriendshipView(accepted) };
        }
        continue;
      }
      // Rejected earlier: the row becomes a fresh pending request from whoever asks now.
      const renewed = await this.store.transition(
        userId,
        targetId,
        { status: 'rejected' },
        { status: 'pending', requesterId: userId, addresseeId: targetId, createdAt: this.clock() },
      );
      if (renewed) return this.requested(renewed);
    }
    throw conflict(`The friendship with user ${targetId} is changing right now, try again`);
  }

  /** Accepts or rejects the pending request `requesterId` sent me. */
  async respond(userId: number, requesterId: number, action: RespondAction): Promise<FriendshipView> {
    const status = action === 'accept' ? 'accepted' : 'rejected';
    const row = await this.store
      .transition(userId, requesterId, { status: 'pending', requesterId, addresseeId: userId }, { status })
      .catch((error: unknown) => {
        // A block between us ends the request (its transaction deletes the row): as if it were gone.
        if (error instanceof BlockedPairError) return null;
        throw error;
      });
    if (!row) throw notFound(`No pending friend request from user ${requesterId}`);
    if (row.status === 'accepted') await this.publishAccepted(row);
    return toFriendshipView(row);
  }

  /** Withdraws my pending request to `targetId`. */
  async cancel(userId: number, targetId: number): Promise<void> {
    const removed = await this.store.deleteWhere(userId, targetId, { status: 'pending', requesterId: userId, addresseeId: targetId });
    if (!removed) throw notFound(`No pending friend request to user ${targetId}`);
  }

  async unfriend(userId: number, friendId: number): Promise<void> {
    const removed = await this.store.deleteWhere(userId, friendId, { status: 'accepted' });
    if (!removed) throw notFound(`User ${friendId} is not your friend`);
    this.dropLists(userId, friendId);
    await this.publish({ type: 'friendship_changed', user_ids: [userId, friendId], status: 'ended' });
  }

  /**
   * My friends (cached: FriendListCache) with their live state: online and last seen from Redis
   * (one MGET), MySQL's copy only where Redis has none, and the Korean last-seen label.
   */
  async list(userId: number, page: Page): Promise<FriendView[]> {
    const friends = await this.friendRows(userId, page);
    const live = await this.liveStates(friends);
    const now = this.clock();
    return friends.map((friend, i) => {
      const isOnline = live ? live.online[i]! : friend.isOnline;
      const lastSeenAt = live?.lastSeen[i] ?? friend.lastSeenAt;
      return {
        user_id: friend.id,
        username: friend.username,
        display_name: friend.displayName,
        email: friend.email,
        profile_image_url: friend.profileImageUrl,
        is_online: isOnline,
        last_seen_at: lastSeenAt?.toISOString() ?? null,
        last_seen_display: lastSeenDisplay({ isOnline, lastSeenAt }, now),
      };
    });
  }

  private async friendRows(userId: number, page: Page): Promise<readonly FriendRow[]> {
    const cached = this.lists.get(userId, page);
    if (cached) return cached;
    const generation = this.lists.generation;
    const rows = await this.store.friendsOf(userId, page);
    this.lists.set(userId, page, rows, generation);
    return rows;
  }

  /** Pending requests to me (`received`) and from me (`sent`); `page` applies to each list. */
  async requests(userId: number, page: Page): Promise<{ received: FriendRequestView[]; sent: FriendRequestView[] }> {
    const [received, sent] = await Promise.all([
      this.store.receivedRequests(userId, page),
      this.store.sentRequests(userId, page),
    ]);
    return { received: received.map(toRequestView), sent: sent.map(toRequestView) };
  }

  async search(userId: number, text: string, page: Page): Promise<UserSearchResult[]> {
    const rows = await this.store.search(userId, text, page);
    return rows.map(toUserSummary);
  }

  private async requested(row: FriendshipRecord): Promise<FriendRequestOutcome> {
    await this.publish(requestChanged(row, 'pending', row.createdAt));
    return { outcome: 'requested', friendship: toFriendshipView(row) };
  }

  /** `row` is the request its addressee just accepted. */
  private async publishAccepted(row: FriendshipRecord): Promise<void> {
    this.dropLists(row.requesterId, row.addresseeId);
    await Promise.all([
      this.publish({ type: 'friendship_changed', user_ids: [row.requesterId, row.addresseeId], status: 'accepted' }),
      this.publish(requestChanged(row, 'accepted', row.updatedAt)),
    ]);
  }

  /** This process's lists at once (the event drops them on every instance, this one included, a moment later). */
  private dropLists(a: number, b: number): void {
    this.lists.dropOwner(a);
    this.lists.dropOwner(b);
  }

  /** Live states from Redis, or null when Redis fails (the caller falls back to MySQL's copy). */
  private async liveStates(friends: readonly FriendRow[]): Promise<LiveStates | null> {
    if (friends.length === 0) return { online: [], lastSeen: [] };
    try {
      return await this.presence.liveStates(friends.map((friend) => friend.id));
    } catch (error) {
      this.log.warn({ err: error }, 'presence lookup failed; using users.is_online');
      return null;
    }
  }

  private publish(event: DomainEvent): Promise<void> {
    return this.events.publishAfterCommit(event, this.log);
  }
}
