import { type FormEvent, type KeyboardEvent, useRef, useState } from 'react';
import { type ChatMessage, messagePreview } from './model.ts';

interface Props {
  replyTo: ChatMessage | null;
  replyName: string;
  onCancelReply(): void;
  onSend(content: string, file?: File): void;
  onKeystroke(): void;
}

/** Text (Enter sends, Shift+Enter breaks the line), a file picker, and the message being replied to. */
export function Composer({ replyTo, replyName, onCancelReply, onSend, onKeystroke }: Props) {
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content) return;
    onSend(content);
    setText('');
    input.current?.focus();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // isComposing: Enter that confirms a Korean IME syllable must not send.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="chat-composer" onSubmit={submit} aria-label="메시지 보내기">
      {replyTo && (
        <div className="chat-replying">
          <span>
            <strong>{replyName}</strong> 님에게 답장: {messagePreview(replyTo).slice(0, 80)}
          </span>
          <button type="button" className="compact" onClick={onCancelReply}>
            답장 취소
          </button>
        </div>
      )}
      <div className="chat-composer-row">
        <label className="chat-attach" title="파일 첨부">
          <PaperClip />
          <input
            type="file"
            aria-label="파일 첨부"
            onChange={(event) => {
              const files = [...(event.target.files ?? [])];
              for (const file of files) onSend('', file);
              event.target.value = '';
            }}
            multiple
          />
        </label>
        <textarea
          ref={input}
          aria-label="메시지 입력"
          placeholder="메시지를 입력하세요"
          rows={1}
          value={text}
          maxLength={4000}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value) onKeystroke();
          }}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={!text.trim()}>
          보내기
        </button>
      </div>
    </form>
  );
}

function PaperClip() {
  return (
    <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M21.4 11.1 12.2 20.3a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
    </svg>
  );
}
