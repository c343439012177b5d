import { useEffect, useRef, useState } from 'react';
import { useSession } from '../session.tsx';
import { announce } from './bus.ts';
import type { ChatMessage } from './model.ts';

/**
 * Read state of the room: the message each other member last read (from `read_receipt` frames;
 * the contract gives no read pointers over REST), and my own reads sent while the room is shown.
 */
export function useReadReceipts(roomId: number, messages: ChatMessage[]) {
  const { socket, me } = useSession();
  const [readBy, setReadBy] = useState<ReadonlyMap<number, string>>(new Map());

  useEffect(
    () =>
      socket.on('read_receipt', (frame) => {
        if (frame.room_id !== roomId || frame.user_id === me.id) return;
        setReadBy((current) => new Map(current).set(frame.user_id, frame.message_id));
      }),
    [socket, roomId, me.id],
  );

  // Read pointers only move forward: a receipt names the newest message that user has read.
  const seqById = new Map(messages.map((message) => [message.id, message.seq]));
  const readSeqs: number[] = [];
  for (const messageId of readBy.values()) {
    const seq = seqById.get(messageId);
    if (seq !== undefined) readSeqs.push(seq);
  }
  const readCount = (seq: number): number => readSeqs.filter((readSeq) => readSeq >= seq).length;

  const lastSentSeq = useRef(0);
  const newest = messages[messages.length - 1];
  useEffect(() => {
    const markRead = () => {
      if (!newest || newest.seq <= lastSentSeq.current || document.visibilityState !== 'visible') return;
      lastSentSeq.current = newest.seq;
      socket.read(roomId, newest.id);
      announce({ type: 'read', roomId });
    };
    markRead();
    document.addEventListener('visibilitychange', markRead);
    const offOpen = socket.on('open', () => {
      // A read sent while the socket was down was dropped: send it again.
      lastSentSeq.current = 0;
      markRead();
    });
    return () => {
      document.removeEventListener('visibilitychange', markRead);
      offOpen();
    };
  }, [socket, roomId, newest]);

  return { readCount };
}
