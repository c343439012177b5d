/**
 * Changes one chat view makes that another must see at once (the room list after a create, a
 * leave, a rename or a read), without waiting for the server's frames.
 */
export type ChatChange = { type: 'rooms_changed' } | { type: 'read'; roomId: number };

const listeners = new Set<(change: ChatChange) => void>();

export function announce(change: ChatChange): void {
  for (const listener of listeners) listener(change);
}

export function onChatChange(listener: (change: ChatChange) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
