import type { Schema } from '@bigtech/chat-client';
import { type FormEvent, useEffect, useState } from 'react';
import { useSession } from '../session.tsx';
import { describe } from './errors.ts';
import { offline } from './model.ts';

type Friend = Schema<'Friend'>;

/** Creates a group (I become its owner), optionally with some friends in it. */
export function NewGroupForm({ onCreated, onCancel }: { onCreated(roomId: number): void; onCancel(): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [isPublic, setIsPublic] = useState(false);
  const [friends, setFriends] = useState<Friend[]>([]);
  const [chosen, setChosen] = useState<ReadonlySet<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    void api.GET('/api/friends/list').then(({ data }) => live && data && setFriends(data), () => undefined);
    return () => {
      live = false;
    };
  }, [api]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setError('그룹 이름을 입력하세요');
    setBusy(true);
    const { data, error: failure } = await api.POST('/api/group-rooms', { body: { name: name.trim(), is_private: !isPublic, member_ids: [...chosen] } }).catch(offline);
    setBusy(false);
    if (!data) return setError(describe(failure, '그룹을 만들지 못했습니다'));
    onCreated(data.room.id);
  }

  const toggle = (userId: number) =>
    setChosen((current) => {
      const next = new Set(current);
      if (!next.delete(userId)) next.add(userId);
      return next;
    });

  return (
    <form className="chat-form" aria-label="새 그룹" onSubmit={submit}>
      <label>
        그룹 이름
        <input value={name} maxLength={100} onChange={(event) => setName(event.target.value)} autoFocus aria-describedby={error ? 'new-group-error' : undefined} />
      </label>
      <label className="chat-check">
        <input type="checkbox" checked={isPublic} onChange={(event) => setIsPublic(event.target.checked)} /> 공개 그룹 (누구나 참여)
      </label>
      {friends.length > 0 && (
        <fieldset>
          <legend>함께할 친구</legend>
          {friends.map((friend) => (
            <label key={friend.user_id} className="chat-check">
              <input type="checkbox" checked={chosen.has(friend.user_id)} onChange={() => toggle(friend.user_id)} /> {friend.display_name || friend.username}
            </label>
          ))}
        </fieldset>
      )}
      {error && (
        <p id="new-group-error" role="alert" className="chat-error">
          {error}
        </p>
      )}
      <div className="chat-form-buttons">
        <button type="submit" className="primary" disabled={busy}>
          만들기
        </button>
        <button type="button" onClick={onCancel}>
          취소
        </button>
      </div>
    </form>
  );
}
