import { useSession } from '../session.tsx';

export interface ChatViewProps {
  roomId: number;
  /** Called after the user leaves or deletes the room (the shell then shows no room). */
  onClosed(): void;
}

/** The open room: messages, composer, members. (Placeholder of the skeleton.) */
export function ChatView({ roomId }: ChatViewProps) {
  const { me } = useSession();
  return (
    <section className="chat" aria-label="채팅">
      <p>
        방 {roomId} · {me.username}
      </p>
    </section>
  );
}
