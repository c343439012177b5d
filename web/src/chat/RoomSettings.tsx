import type { Schema } from '@bigtech/chat-client';
import { type FormEvent, useEffect, useState } from 'react';
import { useSession } from '../session.tsx';
import { announce } from './bus.ts';
import { describe } from './errors.ts';
import { memberName, offline, type Room, type RoomMember } from './model.ts';

type Friend = Schema<'Friend'>;
type Role = RoomMember['role'];

const ROLE_LABEL: Record<Role, string> = { owner: '방장', admin: '관리자', member: '멤버' };

interface Props {
  room: Room;
  onRoomChanged(room: Room): void;
  onReload(): Promise<void>;
  onClose(): void;
  /** After I left or deleted the room. */
  onLeft(): void;
}

/** The group's settings: name, members and their roles, adding friends, my nickname, leave/delete. */
export function RoomSettings({ room, onRoomChanged, onReload, onClose, onLeft }: Props) {
  const { api, me } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const myRole = room.members.find((member) => member.user_id === me.id)?.role ?? 'member';
  const canManage = myRole === 'owner' || myRole === 'admin';
  const path = { room_id: room.id };

  /** Runs one change; a `{room}` answer replaces the room shown. */
  async function change(run: () => Promise<{ data?: { room: Room }; error?: { message: string }; response: Response }>, done: string) {
    setError(null);
    setNotice(null);
    const { data, error: failure, response } = await run().catch(offline);
    if (!response.ok) return setError(describe(failure, '변경하지 못했습니다'));
    if (data) onRoomChanged(data.room);
    else await onReload();
    setNotice(done);
    announce({ type: 'rooms_changed' });
  }

  async function leave() {
    const { response, error: failure } = await api.POST('/api/group-rooms/{room_id}/leave', { params: { path } }).catch(offline);
    if (!response.ok) return setError(describe(failure, '나가지 못했습니다'));
    announce({ type: 'rooms_changed' });
    onLeft();
  }

  async function destroy() {
    if (!window.confirm(`"${room.name ?? ''}" 그룹을 삭제할까요? 모든 메시지가 사라집니다.`)) return;
    const { response, error: failure } = await api.DELETE('/api/group-rooms/{room_id}', { params: { path } }).catch(offline);
    if (!response.ok) return setError(describe(failure, '삭제하지 못했습니다'));
    announce({ type: 'rooms_changed' });
    onLeft();
  }

  return (
    <section className="chat-settings" aria-label="방 설정">
      <div className="chat-settings-head">
        <h3>방 설정</h3>
        <button type="button" className="compact" onClick={onClose}>
          설정 닫기
        </button>
      </div>
      {error && (
        <p role="alert" className="chat-error">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className="chat-muted">
          {notice}
        </p>
      )}
      {canManage && (
        <TextSetting
          label="방 이름"
          initial={room.name ?? ''}
          button="저장"
          onSubmit={(name) => change(() => api.PATCH('/api/group-rooms/{room_id}', { params: { path }, body: { name } }), '방 이름을 바꿨습니다')}
        />
      )}
      <TextSetting
        label="내 별명"
        initial={room.members.find((member) => member.user_id === me.id)?.nickname ?? ''}
        button="별명 변경"
        allowEmpty
        onSubmit={(nickname) => change(() => api.PATCH('/api/group-rooms/{room_id}/members/me', { params: { path }, body: { nickname } }), '별명을 바꿨습니다')}
      />
      <h4>멤버 {room.members.length}명</h4>
      <ul className="chat-members" aria-label="멤버 목록">
        {room.members.map((member) => (
          <MemberRow
            key={member.user_id}
            member={member}
            isMe={member.user_id === me.id}
            myRole={myRole}
            onRole={(role) =>
              change(
                () => api.PATCH('/api/group-rooms/{room_id}/members/{user_id}/role', { params: { path: { room_id: room.id, user_id: member.user_id } }, body: { role } }),
                `${memberName(member)} 님의 역할을 바꿨습니다`,
              )
            }
            onRemove={() =>
              change(
                () => api.DELETE('/api/group-rooms/{room_id}/members/{user_id}', { params: { path: { room_id: room.id, user_id: member.user_id } } }),
                `${memberName(member)} 님을 내보냈습니다`,
              )
            }
          />
        ))}
      </ul>
      {canManage && (
        <AddMember
          room={room}
          onAdd={(userId) =>
            change(() => api.POST('/api/group-rooms/{room_id}/members', { params: { path }, body: { user_id: userId } }), '멤버를 추가했습니다')
          }
        />
      )}
      <div className="chat-settings-danger">
        <button type="button" onClick={() => void leave()}>
          나가기
        </button>
        {myRole === 'owner' && (
          <button type="button" className="danger" onClick={() => void destroy()}>
            그룹 삭제
          </button>
        )}
      </div>
    </section>
  );
}

function TextSetting(props: { label: string; initial: string; button: string; allowEmpty?: boolean; onSubmit(value: string): Promise<void> }) {
  const [value, setValue] = useState(props.initial);
  const [busy, setBusy] = useState(false);
  useEffect(() => setValue(props.initial), [props.initial]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!props.allowEmpty && !value.trim()) return;
    setBusy(true);
    await props.onSubmit(value.trim());
    setBusy(false);
  };
  return (
    <form className="chat-setting" onSubmit={submit}>
      <label>
        {props.label}
        <input value={value} maxLength={100} onChange={(event) => setValue(event.target.value)} />
      </label>
      <button type="submit" disabled={busy}>
        {props.button}
      </button>
    </form>
  );
}

function MemberRow(props: { member: RoomMember; isMe: boolean; myRole: Role; onRole(role: 'admin' | 'member'): void; onRemove(): void }) {
  const { member, isMe, myRole } = props;
  const name = memberName(member);
  const canChangeRole = myRole === 'owner' && member.role !== 'owner';
  const canRemove = !isMe && member.role !== 'owner' && (myRole === 'owner' || (myRole === 'admin' && member.role === 'member'));
  return (
    <li className="chat-member">
      <span className="chat-member-name">
        {name}
        {isMe && ' (나)'}
        {member.nickname && <span className="chat-muted"> @{member.username}</span>}
      </span>
      {canChangeRole ? (
        <select aria-label={`${name} 역할`} value={member.role} onChange={(event) => props.onRole(event.target.value === 'admin' ? 'admin' : 'member')}>
          <option value="admin">{ROLE_LABEL.admin}</option>
          <option value="member">{ROLE_LABEL.member}</option>
        </select>
      ) : (
        <span className="chat-role">{ROLE_LABEL[member.role]}</span>
      )}
      {canRemove && (
        <button type="button" aria-label={`${name} 내보내기`} onClick={props.onRemove}>
          내보내기
        </button>
      )}
    </li>
  );
}

/** Only friends can be added (the contract's rule), so the choice is among friends not in the room. */
function AddMember({ room, onAdd }: { room: Room; onAdd(userId: number): Promise<void> }) {
  const { api } = useSession();
  const [friends, setFriends] = useState<Friend[] | null>(null);
  const [chosen, setChosen] = useState('');
  useEffect(() => {
    let live = true;
    void api.GET('/api/friends/list').then(({ data }) => live && setFriends(data ?? []), () => live && setFriends([]));
    return () => {
      live = false;
    };
  }, [api, room.members.length]);
  const inRoom = new Set(room.members.map((member) => member.user_id));
  const candidates = (friends ?? []).filter((friend) => !inRoom.has(friend.user_id));
  return (
    <form
      className="chat-setting"
      aria-label="멤버 추가"
      onSubmit={(event) => {
        event.preventDefault();
        const userId = Number(chosen);
        if (userId > 0) void onAdd(userId).then(() => setChosen(''));
      }}
    >
      <label>
        추가할 친구
        <select value={chosen} onChange={(event) => setChosen(event.target.value)}>
          <option value="">{friends === null ? '불러오는 중…' : candidates.length === 0 ? '추가할 친구가 없습니다' : '친구 선택'}</option>
          {candidates.map((friend) => (
            <option key={friend.user_id} value={friend.user_id}>
              {friend.display_name || friend.username}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!chosen}>
        멤버 추가
      </button>
    </form>
  );
}
