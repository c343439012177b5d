import { useNavigation } from '../navigation.tsx';
import { useNotifications } from '../notifications/NotificationsProvider.tsx';
import { nameOf } from '../people.tsx';
import { useOnline } from '../presence.tsx';
import { useSession } from '../session.tsx';
import { Avatar } from '../ui/Avatar.tsx';
import { describeError } from '../ui/errors.ts';
import { useAction } from '../ui/useAction.ts';
import { BlockButton } from './BlockButton.tsx';
import { Directory } from './Directory.tsx';
import { type BlockedUser, type Friend, type FriendRequest, type Social, useSocial } from './useSocial.ts';

/** The 친구 tab: friends with live presence, requests, the user directory and blocks. */
export function FriendsPanel() {
  const social = useSocial();
  return (
    <div className="friends">
      <Directory onChanged={social.refresh} version={social.version} />
      <Requests social={social} />
      <section aria-label="친구 목록" className="panel-section">
        <h2>친구 {social.friends.length > 0 && <span className="count">{social.friends.length}</span>}</h2>
        {social.loaded && social.friends.length === 0 && <p className="empty">아직 친구가 없습니다. 위에서 사용자를 검색해 친구 요청을 보내세요.</p>}
        <ul className="people">
          {social.friends.map((friend) => (
            <FriendItem key={friend.user_id} friend={friend} onChanged={social.refresh} />
          ))}
        </ul>
      </section>
      {social.blocked.length > 0 && <Blocked blocked={social.blocked} onChanged={social.refresh} />}
    </div>
  );
}

function FriendItem({ friend, onChanged }: { friend: Friend; onChanged(): void }) {
  const { api } = useSession();
  const { openRoom } = useNavigation();
  const online = useOnline(friend.user_id, friend.is_online);
  const action = useAction();
  const name = nameOf(friend);
  return (
    <li className="person">
      <span className="avatar-wrap">
        <Avatar name={name} url={friend.profile_image_url} />
        <span className={`dot ${online ? 'online' : 'offline'}`} role="img" aria-label={online ? '온라인' : '오프라인'} />
      </span>
      <span className="person-text">
        <span className="person-name">{name}</span>
        <span className="person-sub">{online ? '접속 중' : friend.last_seen_display}</span>
      </span>
      <span className="person-actions">
        <button
          type="button"
          className="primary small"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const { data, error } = await api.POST('/api/chat-rooms', { body: { user_id: friend.user_id } });
              if (data) openRoom(data.room.id);
              return describeError(error, '대화');
            })
          }
        >
          대화하기
        </button>
        <BlockButton userId={friend.user_id} name={name} onChanged={onChanged} />
      </span>
      {action.error && <p role="alert" className="form-error">{action.error}</p>}
    </li>
  );
}

function Requests({ social }: { social: Social }) {
  if (social.received.length === 0 && social.sent.length === 0) return null;
  return (
    <section aria-label="친구 요청" className="panel-section">
      <h2>친구 요청</h2>
      <ul className="people">
        {social.received.map((request) => (
          <RequestItem key={`r${request.user_id}`} request={request} direction="received" onChanged={social.refresh} />
        ))}
        {social.sent.map((request) => (
          <RequestItem key={`s${request.user_id}`} request={request} direction="sent" onChanged={social.refresh} />
        ))}
      </ul>
    </section>
  );
}

function RequestItem({ request, direction, onChanged }: { request: FriendRequest; direction: 'received' | 'sent'; onChanged(): void }) {
  const { api } = useSession();
  const notifications = useNotifications();
  const action = useAction();
  const name = nameOf(request);
  const answer = (choice: 'accept' | 'reject') =>
    action.run(async () => {
      const { error } = await api.PUT('/api/friends/status/{requester_user_id}', {
        params: { path: { requester_user_id: request.user_id } },
        body: { action: choice },
      });
      onChanged();
      // The request is answered: its notification has nothing left to tell.
      const told = notifications.items.filter((item) => item.type === 'friend_request' && item.actor_id === request.user_id && !item.read_at);
      await notifications.markRead(told.map((item) => item.id));
      return describeError(error, '요청');
    });
  return (
    <li className="person">
      <Avatar name={name} url={request.profile_image_url} />
      <span className="person-text">
        <span className="person-name">{name}</span>
        <span className="person-sub">{direction === 'received' ? '나에게 친구 요청' : '요청 보냄 · 응답 대기 중'}</span>
      </span>
      <span className="person-actions">
        {direction === 'received' ? (
          <>
            <button type="button" className="primary small" aria-label={`${name} 수락`} disabled={action.busy} onClick={() => answer('accept')}>
              수락
            </button>
            <button type="button" className="small" aria-label={`${name} 거절`} disabled={action.busy} onClick={() => answer('reject')}>
              거절
            </button>
          </>
        ) : (
          <button
            type="button"
            className="small"
            aria-label={`${name} 요청 취소`}
            disabled={action.busy}
            onClick={() =>
              action.run(async () => {
                const { error } = await api.DELETE('/api/friends/request/{target_user_id}', { params: { path: { target_user_id: request.user_id } } });
                onChanged();
                return describeError(error, '취소');
              })
            }
          >
            취소
          </button>
        )}
      </span>
      {action.error && <p role="alert" className="form-error">{action.error}</p>}
    </li>
  );
}

function Blocked({ blocked, onChanged }: { blocked: BlockedUser[]; onChanged(): void }) {
  const { api } = useSession();
  const action = useAction();
  return (
    <section aria-label="차단한 사용자" className="panel-section">
      <h2>차단한 사용자</h2>
      <ul className="people">
        {blocked.map((user) => {
          const name = nameOf(user);
          return (
            <li key={user.user_id} className="person">
              <Avatar name={name} url={null} />
              <span className="person-text">
                <span className="person-name">{name}</span>
              </span>
              <span className="person-actions">
                <button
                  type="button"
                  className="small"
                  aria-label={`${name} 차단 해제`}
                  disabled={action.busy}
                  onClick={() =>
                    action.run(async () => {
                      const { error } = await api.DELETE('/api/blocks/{user_id}', { params: { path: { user_id: user.user_id } } });
                      onChanged();
                      return describeError(error, '차단 해제');
                    })
                  }
                >
                  차단 해제
                </button>
              </span>
            </li>
          );
        })}
      </ul>
      {action.error && <p role="alert" className="form-error">{action.error}</p>}
    </section>
  );
}
