import { Fragment, useLayoutEffect, useRef, useState } from 'react';
import { useSession } from '../session.tsx';
import { MessageItem, PendingItem } from './MessageItem.tsx';
import { type ChatMessage, formatDay, type Room } from './model.ts';
import type { useRoomMessages } from './useRoomMessages.ts';

/** Within this many pixels of the top, older messages are loaded. */
const LOAD_OLDER_AT_PX = 120;
/** Within this many pixels of the bottom, new messages keep the view at the bottom. */
const STICK_TO_BOTTOM_PX = 80;

interface Props {
  roomType: Room['type'];
  state: ReturnType<typeof useRoomMessages>;
  nameOf(userId: number): string;
  readCount(seq: number): number;
  onReply(message: ChatMessage): void;
}

/** The scrolling log: loads older pages at the top without moving what is shown. */
export function MessageList({ roomType, state, nameOf, readCount, onReply }: Props) {
  const { me } = useSession();
  const { messages, pending, hasMore, loading, error, loadOlder } = state;
  const log = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ firstId: string | undefined; height: number; top: number } | null>(null);
  const atBottom = useRef(true);
  const count = messages.length + pending.length;
  const [unseen, setUnseen] = useState(0);
  const seen = useRef({ lastId: undefined as string | undefined, pending: 0 });

  // After each change commits: keep the view where the reader left it.
  const firstId = messages[0]?.id;
  const last = messages[messages.length - 1];
  useLayoutEffect(() => {
    const element = log.current;
    if (!element) return;
    const previous = anchor.current;
    // My own send always brings the view down to it.
    if (pending.length > seen.current.pending) atBottom.current = true;
    const arrived = last !== undefined && seen.current.lastId !== undefined && last.id !== seen.current.lastId;
    seen.current = { lastId: last?.id, pending: pending.length };
    if (previous && previous.firstId !== undefined && previous.firstId !== firstId) {
      // Older messages were put above: keep the same message under the reader's eyes.
      element.scrollTop = previous.top + (element.scrollHeight - previous.height);
    } else if (atBottom.current) {
      element.scrollTop = element.scrollHeight;
    } else if (arrived && last.user_id !== me.id) {
      setUnseen((n) => n + 1);
    }
    anchor.current = { firstId, height: element.scrollHeight, top: element.scrollTop };
  }, [firstId, count, last, pending.length, me.id]);

  const toBottom = () => {
    const element = log.current;
    if (!element) return;
    atBottom.current = true;
    element.scrollTop = element.scrollHeight;
    setUnseen(0);
  };

  // A first page that does not fill the view cannot be scrolled: load more until it does.
  useLayoutEffect(() => {
    const element = log.current;
    if (element && hasMore && !loading && element.scrollHeight <= element.clientHeight) loadOlder();
  }, [hasMore, loading, loadOlder, count]);

  const onScroll = () => {
    const element = log.current;
    if (!element) return;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_TO_BOTTOM_PX;
    if (atBottom.current && unseen > 0) setUnseen(0);
    anchor.current = { firstId, height: element.scrollHeight, top: element.scrollTop };
    if (element.scrollTop < LOAD_OLDER_AT_PX && hasMore && !loading) loadOlder();
  };

  // An image that finishes loading grows the log: stay at the bottom if we were there.
  const keepBottom = () => {
    const element = log.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  };

  const byId = new Map(messages.map((message) => [message.id, message]));
  return (
    <div className="chat-log-wrap">
      <div className="chat-log" role="log" aria-label="메시지" aria-busy={loading !== null} ref={log} onScroll={onScroll} onLoadCapture={keepBottom} tabIndex={0}>
        {loading === 'older' && <p className="chat-muted chat-center">이전 메시지를 불러오는 중…</p>}
        {!hasMore && loading === null && messages.length > 0 && <p className="chat-muted chat-center">대화의 시작입니다</p>}
        {loading === 'initial' && messages.length === 0 && <p className="chat-muted chat-center">불러오는 중…</p>}
        {loading === null && messages.length === 0 && pending.length === 0 && !error && (
          <p className="chat-muted chat-center">첫 메시지를 보내 보세요</p>
        )}
        {error && (
          <p role="alert" className="chat-error">
            {error}{' '}
            <button type="button" className="compact" onClick={state.reload}>
              다시 시도
            </button>
          </p>
        )}
        {messages.map((message, index) => (
          <Fragment key={message.id}>
            {dayOf(message) !== dayOf(messages[index - 1]) && (
              <p className="chat-day" role="separator" aria-label={formatDay(message.created_at)}>
                {formatDay(message.created_at)}
              </p>
            )}
            <MessageItem
              message={message}
              mine={message.user_id === me.id}
              authorName={nameOf(message.user_id)}
              continued={continues(messages[index - 1], message)}
              parent={message.reply_to ? (byId.get(message.reply_to) ?? null) : null}
              parentName={message.reply_to ? nameOf(byId.get(message.reply_to)?.user_id ?? -1) : ''}
              readLabel={readLabel(roomType, message.user_id === me.id ? readCount(message.seq) : 0)}
              onReply={onReply}
              onChanged={state.apply}
            />
          </Fragment>
        ))}
        {pending.map((item) => (
          <PendingItem key={item.tempId} item={item} parent={item.replyTo ? (byId.get(item.replyTo) ?? null) : null} onRetry={state.retry} onDiscard={state.discard} />
        ))}
      </div>
      {unseen > 0 && (
        <button type="button" className="chat-jump primary compact" onClick={toBottom}>
          새 메시지 {unseen}개 ↓
        </button>
      )}
    </div>
  );
}

/** Within a run of one author's messages a few minutes apart, the name is shown once. */
const RUN_GAP_MS = 5 * 60_000;

function continues(previous: ChatMessage | undefined, message: ChatMessage): boolean {
  if (!previous || previous.user_id !== message.user_id || dayOf(previous) !== dayOf(message)) return false;
  return Date.parse(message.created_at) - Date.parse(previous.created_at) < RUN_GAP_MS;
}

function dayOf(message: ChatMessage | undefined): string {
  return message ? new Date(message.created_at).toDateString() : '';
}

function readLabel(roomType: Room['type'], count: number): string | null {
  if (count === 0) return null;
  return roomType === 'group' ? `읽음 ${count}` : '읽음';
}
