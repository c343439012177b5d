import type { Reaction } from '@bigtech/chat-client';
import { type KeyboardEvent, useState } from 'react';
import { useSession } from '../session.tsx';
import { AttachmentView } from './AttachmentView.tsx';
import { describe } from './errors.ts';
import { type ChatMessage, formatTime, messagePreview, offline, REACTIONS, toChatMessage } from './model.ts';
import type { PendingMessage } from './useRoomMessages.ts';

interface Props {
  message: ChatMessage;
  mine: boolean;
  authorName: string;
  /** The previous message is the same author's, just before: the name is not repeated. */
  continued: boolean;
  parent: ChatMessage | null;
  parentName: string;
  readLabel: string | null;
  onReply(message: ChatMessage): void;
  onChanged(message: ChatMessage): void;
}

export function MessageItem({ message, mine, authorName, continued, parent, parentName, readLabel, onReply, onChanged }: Props) {
  const { api, me } = useSession();
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const roomPath = { room_id: message.room_id, message_id: message.id };

  async function react(kind: Reaction) {
    setPicking(false);
    const { data, error: failure } = await api.POST('/api/messages/{room_id}/{message_id}/reactions', { params: { path: roomPath }, body: { reaction: kind } }).catch(offline);
    setError(data ? null : describe(failure, '반응을 남기지 못했습니다'));
    if (data) onChanged(toChatMessage(data.message));
  }

  async function remove() {
    const { response, error: failure } = await api.DELETE('/api/messages/{room_id}/{message_id}', { params: { path: roomPath } }).catch(offline);
    setError(response.ok ? null : describe(failure, '삭제하지 못했습니다'));
    // The deletion's frame may come later: show it now, as the version it will have.
    if (response.ok) onChanged({ ...message, is_deleted: true, content: null, attachment: null, attachment_url: null, version: message.version + 1 });
  }

  async function save(content: string) {
    const { data, error: failure } = await api.PUT('/api/messages/{room_id}/{message_id}', { params: { path: roomPath }, body: { content } }).catch(offline);
    setError(data ? null : describe(failure, '수정하지 못했습니다'));
    if (!data) return;
    onChanged(toChatMessage(data.message));
    setEditing(false);
  }

  const shownReactions = REACTIONS.filter(({ kind }) => (message.reactions[kind]?.length ?? 0) > 0);
  return (
    <article className={`chat-message${mine ? ' mine' : ''}`} data-message-id={message.id} data-seq={message.seq} aria-label={`${authorName}: ${messagePreview(message)}`}>
      <div className="chat-meta">
        {!mine && !continued && <span className="chat-author">{authorName}</span>}
        <time dateTime={message.created_at}>{formatTime(message.created_at)}</time>
        {message.is_edited && !message.is_deleted && <span className="chat-muted">(수정됨)</span>}
        {readLabel && <span className="chat-read">{readLabel}</span>}
        {!message.is_deleted && !editing && (
          <div className="chat-actions">
            <button type="button" className="compact" aria-expanded={picking} onClick={() => setPicking((open) => !open)}>
              반응
            </button>
            <button type="button" className="compact" onClick={() => onReply(message)}>
              답장
            </button>
            {mine && message.message_type === 'text' && (
              <button type="button" className="compact" onClick={() => setEditing(true)}>
                수정
              </button>
            )}
            {mine && (
              <button type="button" className="compact" onClick={() => void remove()}>
                삭제
              </button>
            )}
          </div>
        )}
      </div>
      {message.reply_to && <Quote parent={parent} name={parentName} />}
      <div className="chat-bubble">
        {message.is_deleted ? (
          <p className="chat-muted chat-deleted">삭제된 메시지입니다</p>
        ) : editing ? (
          <EditForm initial={message.content ?? ''} onSave={save} onCancel={() => setEditing(false)} />
        ) : (
          <>
            {message.attachment && <AttachmentView attachment={message.attachment} />}
            {message.content && <p className="chat-text">{message.content}</p>}
          </>
        )}
      </div>
      {shownReactions.length > 0 && (
        <div className="chat-reactions">
          {shownReactions.map(({ kind, label, emoji }) => {
            const users = message.reactions[kind] ?? [];
            return (
              <button key={kind} type="button" className="chat-chip compact" aria-pressed={users.includes(me.id)} aria-label={`${label} ${users.length}`} onClick={() => void react(kind)}>
                {emoji} {users.length}
              </button>
            );
          })}
        </div>
      )}
      {error && (
        <p role="alert" className="chat-error">
          {error}
        </p>
      )}
      {picking && (
        <div className="chat-picker" role="group" aria-label="반응 선택">
          {REACTIONS.map(({ kind, label, emoji }) => (
            <button key={kind} type="button" className="compact" aria-label={label} title={label} onClick={() => void react(kind)}>
              {emoji} {label}
            </button>
          ))}
        </div>
      )}
    </article>
  );
}

function Quote({ parent, name }: { parent: ChatMessage | null; name: string }) {
  return (
    <blockquote className="chat-quote">
      {parent ? (
        <>
          <span className="chat-author">{name}</span> {messagePreview(parent)}
        </>
      ) : (
        '이전 메시지에 대한 답장'
      )}
    </blockquote>
  );
}

function EditForm({ initial, onSave, onCancel }: { initial: string; onSave(content: string): void; onCancel(): void }) {
  const [text, setText] = useState(initial);
  const submit = () => {
    if (text.trim()) onSave(text);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape') onCancel();
  };
  return (
    <form
      className="chat-edit"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <textarea aria-label="메시지 수정" value={text} rows={2} onChange={(event) => setText(event.target.value)} onKeyDown={onKeyDown} autoFocus />
      <button type="submit" className="primary compact">
        저장
      </button>
      <button type="button" className="compact" onClick={onCancel}>
        취소
      </button>
    </form>
  );
}

interface PendingProps {
  item: PendingMessage;
  parent: ChatMessage | null;
  onRetry(tempId: string): void;
  onDiscard(tempId: string): void;
}

/** My message before its ack: sending, uploading, or refused with a retry. */
export function PendingItem({ item, parent, onRetry, onDiscard }: PendingProps) {
  const status = item.status === 'uploading' ? '올리는 중…' : item.status === 'sending' ? '보내는 중…' : `전송 실패: ${item.error ?? ''}`;
  return (
    <article className={`chat-message mine pending${item.status === 'failed' ? ' failed' : ''}`} data-temp-id={item.tempId} aria-busy={item.status !== 'failed'}>
      {item.replyTo && <Quote parent={parent} name="" />}
      <div className="chat-bubble">
        {item.file && <p className="chat-file">[파일] {item.file.name}</p>}
        {item.content && <p className="chat-text">{item.content}</p>}
      </div>
      <span className={item.status === 'failed' ? 'chat-error' : 'chat-muted'} role={item.status === 'failed' ? 'alert' : undefined}>
        {status}
      </span>
      {item.status === 'failed' && (
        <div className="chat-actions visible">
          <button type="button" className="compact" onClick={() => onRetry(item.tempId)}>
            다시 보내기
          </button>
          <button type="button" className="compact" onClick={() => onDiscard(item.tempId)}>
            보내지 않기
          </button>
        </div>
      )}
    </article>
  );
}
