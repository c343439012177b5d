import type { NotificationView } from './notifications.schemas.ts';

/**
 * What the notifications module publishes; the chat module delivers them to the recipient's
 * sockets and user streams (`notification` frames) on every instance.
 */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    /** A notification was raised or changed (count, preview, read): its state now and the recipient's unread count. */
    notification_changed: { user_id: number; notification: NotificationView; unread_count: number };
    /** The recipient marked notifications read over REST: those ids, or every unread one up to `read_at`. */
    notifications_read: { user_id: number; ids: number[] | 'all'; read_at: string; unread_count: number };
  }
}

export {};
