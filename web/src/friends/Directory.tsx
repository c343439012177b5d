import type { Schema } from '@bigtech/chat-client';
import { useEffect, useState } from 'react';
import { nameOf } from '../people.tsx';
import { useSession } from '../session.tsx';
import { Avatar } from '../ui/Avatar.tsx';
import { describeError } from '../ui/errors.ts';
import { useAction } from '../ui/useAction.ts';
import { BlockButton } from './BlockButton.tsx';

type Entry = Schema<'UserDirectoryEntry'>;

const DEBOUNCE_MS = 250;
const MIN_QUERY = 2;

/** The user directory: search by username or display name, then ask, accept or cancel. */
export function Directory({ onChanged, version }: { onChanged(): void; version: number }) {
  const { api } = useSession();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Entry[] | undefined>();

  useEffect(() => {
    const q = query.trim();
    if (q.length < MIN_QUERY) return setResults(undefined);
    let current = true;
    const timer = setTimeout(() => {
      api
        .GET('/api/users/search', { params: { query: { q, limit: 20 } } })
        .then(({ data }) => {
          if (current && data) setResults(data);
        })
        .catch(() => undefined);
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // `version`: friendships changed (here or elsewhere), so each result's state may have too.
  }, [api, query, version]);

  return (
    <section aria-label="사용자 찾기" className="panel-section">
      <h2>사용자 찾기</h2>
      <input
        type="search"
        className="search"
        aria-label="사용자 검색"
        placeholder="아이디나 이름 (2자 이상)"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
      />
      {results && results.length === 0 && <p className="empty">찾는 사용자가 없습니다</p>}
      {results && results.length > 0 && (
        <ul className="people" aria-label="검색 결과">
          {results.map((entry) => (
            <DirectoryItem key={entry.user_id} entry={entry} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function DirectoryItem({ entry, onChanged }: { entry: Entry; onChanged(): void }) {
  const { api } = useSession();
  const action = useAction();
  const name = nameOf(entry);
  const request = () =>
    action.run(async () => {
      const { error } = await api.POST('/api/friends/request', { body: { user_id: entry.user_id } });
      onChanged();
      return describeError(error, '친구 요청');
    });
  const cancel = () =>
    action.run(async () => {
      const { error } = await api.DELETE('/api/friends/request/{target_user_id}', { params: { path: { target_user_id: entry.user_id } } });
      onChanged();
      return describeError(error, '취소');
    });
  return (
    <li className="person">
      <Avatar name={name} url={entry.profile_image_url} />
      <span className="person-text">
        <span className="person-name">{name}</span>
        <span className="person-sub">@{entry.username}</span>
      </span>
      <span className="person-actions">
        {entry.is_friend ? (
          <span className="tag">친구</span>
        ) : entry.friend_request === 'sent' ? (
          <>
            <span className="tag">요청함</span>
            <button type="button" className="small" aria-label={`${name} 요청 취소`} disabled={action.busy} onClick={cancel}>
              취소
            </button>
          </>
        ) : entry.friend_request === 'received' ? (
          <button type="button" className="primary small" aria-label={`${name} 요청 수락`} disabled={action.busy} onClick={request}>
            수락
          </button>
        ) : (
          <button type="button" className="primary small" aria-label={`${name} 친구 요청`} disabled={action.busy} onClick={request}>
            친구 요청
          </button>
        )}
        <BlockButton userId={entry.user_id} name={name} onChanged={onChanged} />
      </span>
      {action.error && <p role="alert" className="form-error">{action.error}</p>}
    </li>
  );
}
