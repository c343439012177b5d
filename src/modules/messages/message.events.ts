import type { MessageView } from './message.schemas.ts';
import type { ReactionKind } from './store/message-store.ts';

/** Message events carry the message exactly as the REST API returns it. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    message_created: { room_id: number; message: MessageView };
    message_updated: { room_id: number; message: MessageView };
    message_deleted: { room_id: number; message: MessageView; deleted_by: number };
    reaction_changed: { room_id: number; message: MessageView; user_id: number; reaction: ReactionKind; added: boolean };
    read_updated: { room_id: number; user_id: number; message_id: string; read_at: string };
  }
}
