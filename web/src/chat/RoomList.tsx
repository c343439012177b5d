import { useNavigation } from '../navigation.tsx';

/** The user's rooms with unread badges, and creating or joining a group. (Placeholder of the skeleton.) */
export function RoomList() {
  const { openRoom } = useNavigation();
  return (
    <nav aria-label="채팅방 목록">
      <button type="button" onClick={() => openRoom(1)}>
        방 1
      </button>
    </nav>
  );
}
