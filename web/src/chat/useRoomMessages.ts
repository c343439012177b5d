import { ChatSendError, type SendOptions } from '@bigtech/chat-client';
import { useCallback, useEffect, useReducer, useRef } from 'react';
import { useSession } from '../session.tsx';
import { describe, korean } from './errors.ts';
import { type ChatMessage, toChatMessage } from './model.ts';
import { uploadAttachment } from './upload.ts';

const PAGE_SIZE = 50;

/** A message of mine not acknowledged yet: sending, uploading, or refused (then retryable). */
export interface PendingMessage {
  tempId: string;
  content: string;
  replyTo: string | null;
  file: File | null;
  attachmentId: string | null;
  /** What the server judged the upload to be (by content, not by the file's name or type). */
  attachmentKind: 'image' | 'file' | null;
  status: 'uploading' | 'sending' | 'failed';
  error: string | null;
  createdAt: string;
}

interface State {
  roomId: number;
  messages: ChatMessage[];
  pending: PendingMessage[];
  cursor: string | null;
  hasMore: boolean;
  loading: 'initial' | 'older' | null;
  error: string | null;
  /**
   * While a page that replaces the list is on its way: the messages that arrived meanwhile
   * (frames, acks). The page is the server's history at some instant during the request, so
   * these may be newer than it (a message stored, an edit made after it was read); they are
   * merged into it rather than thrown away with the list it replaces.
   */
  arrivedDuringReplace: ChatMessage[] | null;
}

type Action =
  | { type: 'page'; messages: ChatMessage[]; cursor: string | null; hasMore: boolean; replace: boolean }
  | { type: 'loading'; loading: State['loading']; replace: boolean }
  | { type: 'failed'; error: string }
  | { type: 'upsert'; message: ChatMessage }
  | { type: 'pending'; pending: PendingMessage }
  | { type: 'pending_update'; tempId: string; patch: Partial<PendingMessage> }
  | { type: 'pending_done'; tempId: string; message: ChatMessage | null };

function initial(roomId: number): State {
  return { roomId, messages: [], pending: [], cursor: null, hasMore: false, loading: 'initial', error: null, arrivedDuringReplace: [] };
}

/** Merges by id, keeping the higher version, ordered by seq. */
function merge(current: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  let changed = false;
  for (const message of incoming) {
    const known = byId.get(message.id);
    if (known && known.version >= message.version) continue;
    byId.set(message.id, message);
    changed = true;
  }
  if (!changed) return current;
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function withoutAcked(pending: PendingMessage[], messages: ChatMessage[]): PendingMessage[] {
  const acked = new Set(messages.map((message) => message.client_message_id).filter((id) => id !== null));
  const rest = pending.filter((item) => !acked.has(item.tempId));
  return rest.length === pending.length ? pending : rest;
}

/** The replacing page with what arrived while it was read; an old message's change outside the page waits for its own page. */
function replacement(page: ChatMessage[], hasMore: boolean, arrived: ChatMessage[]): ChatMessage[] {
  const fromPage = merge([], page);
  const oldest = fromPage[0];
  const kept = hasMore && oldest ? arrived.filter((message) => message.seq >= oldest.seq) : arrived;
  return merge(fromPage, kept);
}

/** Remembers a live arrival while a replacing page is on its way (see arrivedDuringReplace). */
function noteArrival(state: State, message: ChatMessage): ChatMessage[] | null {
  return state.arrivedDuringReplace ? [...state.arrivedDuringReplace, message] : null;
}

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case 'page': {
      const messages = action.replace ? replacement(action.messages, action.hasMore, state.arrivedDuringReplace ?? []) : merge(state.messages, action.messages);
      return {
        ...state,
        messages,
        pending: withoutAcked(state.pending, action.messages),
        cursor: action.cursor,
        hasMore: action.hasMore,
        loading: null,
        error: null,
        arrivedDuringReplace: action.replace ? null : state.arrivedDuringReplace,
      };
    }
    case 'loading':
      // A replacing read already on its way (superseded by this one) keeps what it collected.
      return { ...state, loading: action.loading, arrivedDuringReplace: action.replace ? (state.arrivedDuringReplace ?? []) : state.arrivedDuringReplace };
    case 'failed':
      return { ...state, loading: null, error: action.error, arrivedDuringReplace: null };
    case 'upsert':
      return {
        ...state,
        messages: merge(state.messages, [action.message]),
        pending: withoutAcked(state.pending, [action.message]),
        arrivedDuringReplace: noteArrival(state, action.message),
      };
    case 'pending':
      return { ...state, pending: [...state.pending.filter((item) => item.tempId !== action.pending.tempId), action.pending] };
    case 'pending_update':
      return { ...state, pending: state.pending.map((item) => (item.tempId === action.tempId ? { ...item, ...action.patch } : item)) };
    case 'pending_done': {
      const pending = state.pending.filter((item) => item.tempId !== action.tempId);
      if (!action.message) return { ...state, pending };
      return { ...state, pending, messages: merge(state.messages, [action.message]), arrivedDuringReplace: noteArrival(state, action.message) };
    }
  }
}

function newTempId(): string {
  return crypto.randomUUID();
}

function sendError(error: unknown): string {
  if (error instanceof ChatSendError) return korean(error.message);
  if (error instanceof Error) return error.message;
  return '알 수 없는 오류';
}

/**
 * The open room's messages: history over REST (older pages on demand), live frames merged by id
 * and version, and my optimistic sends until their ack.
 */
export function useRoomMessages(roomId: number) {
  const { api, socket } = useSession();
  const [state, dispatch] = useReducer(reducer, roomId, initial);
  const stateRef = useRef(state);
  stateRef.current = state;
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (before: string | null, replace: boolean) => {
      const mine = generation.current;
      dispatch({ type: 'loading', loading: replace ? 'initial' : 'older', replace });
      const answer = await api
        .GET('/api/messages/{room_id}', { params: { path: { room_id: roomId }, query: { limit: PAGE_SIZE, ...(before ? { before } : {}) } } })
        .catch(() => null);
      if (mine !== generation.current) return;
      if (!answer?.data) return dispatch({ type: 'failed', error: describe(answer?.error, '메시지를 불러오지 못했습니다') });
      const { data } = answer;
      dispatch({ type: 'page', messages: data.messages.map(toChatMessage), cursor: data.next_cursor, hasMore: data.has_more, replace });
    },
    [api, roomId],
  );

  useEffect(() => {
    generation.current += 1;
    // Joined before the first page is read: whatever arrives meanwhile is merged by id.
    socket.join(roomId);
    void fetchPage(null, true);
    const forThisRoom = (message: { room_id: number }) => message.room_id === roomId;
    const offs = [
      socket.on('message', (frame) => forThisRoom(frame.message) && dispatch({ type: 'upsert', message: toChatMessage(frame.message) })),
      socket.on('message_updated', (frame) => forThisRoom(frame.message) && dispatch({ type: 'upsert', message: toChatMessage(frame.message) })),
      socket.on('message_deleted', (frame) => forThisRoom(frame.message) && dispatch({ type: 'upsert', message: toChatMessage(frame.message) })),
      socket.on('reaction', (frame) => forThisRoom(frame.message) && dispatch({ type: 'upsert', message: toChatMessage(frame.message) })),
      // A page that failed while the server was unreachable is read again once it is back.
      socket.on('open', () => {
        if (stateRef.current.error) void fetchPage(null, stateRef.current.messages.length === 0);
      }),
      socket.on('reset', (frame) => {
        if (frame.room_id !== roomId) return;
        generation.current += 1;
        void fetchPage(null, true);
      }),
    ];
    return () => {
      for (const off of offs) off();
      socket.leave(roomId);
      generation.current += 1;
    };
  }, [socket, roomId, fetchPage]);

  const loadOlder = useCallback(() => {
    const current = stateRef.current;
    if (!current.hasMore || current.loading || !current.cursor) return;
    void fetchPage(current.cursor, false);
  }, [fetchPage]);

  const deliver = useCallback(
    async (item: PendingMessage) => {
      try {
        let { attachmentId, attachmentKind } = item;
        if (item.file && !attachmentId) {
          dispatch({ type: 'pending_update', tempId: item.tempId, patch: { status: 'uploading', error: null } });
          const attachment = await uploadAttachment(api, roomId, item.file);
          attachmentId = attachment.id;
          attachmentKind = attachment.kind;
          // Kept on the pending item: a retry sends this upload rather than uploading anew.
          dispatch({ type: 'pending_update', tempId: item.tempId, patch: { attachmentId, attachmentKind } });
        }
        dispatch({ type: 'pending_update', tempId: item.tempId, patch: { status: 'sending', error: null } });
        const options: SendOptions = { temp_id: item.tempId };
        if (item.replyTo) options.reply_to = item.replyTo;
        if (attachmentId) {
          options.message_type = attachmentKind ?? 'file';
          options.attachment_id = attachmentId;
        }
        const message = await socket.send(roomId, item.content, options);
        dispatch({ type: 'pending_done', tempId: item.tempId, message: toChatMessage(message) });
      } catch (error) {
        dispatch({ type: 'pending_update', tempId: item.tempId, patch: { status: 'failed', error: sendError(error) } });
      }
    },
    [api, socket, roomId],
  );

  const send = useCallback(
    (content: string, options: { replyTo?: string | null; file?: File } = {}) => {
      const item: PendingMessage = {
        tempId: newTempId(),
        content,
        replyTo: options.replyTo ?? null,
        file: options.file ?? null,
        attachmentId: null,
        attachmentKind: null,
        status: options.file ? 'uploading' : 'sending',
        error: null,
        createdAt: new Date().toISOString(),
      };
      dispatch({ type: 'pending', pending: item });
      void deliver(item);
    },
    [deliver],
  );

  const retry = useCallback(
    (tempId: string) => {
      const item = stateRef.current.pending.find((candidate) => candidate.tempId === tempId);
      if (item) void deliver(item);
    },
    [deliver],
  );

  const reload = useCallback(() => void fetchPage(null, stateRef.current.messages.length === 0), [fetchPage]);
  const discard = useCallback((tempId: string) => dispatch({ type: 'pending_done', tempId, message: null }), []);
  const apply = useCallback((message: ChatMessage) => dispatch({ type: 'upsert', message }), []);

  return { ...state, loadOlder, reload, send, retry, discard, apply };
}
