/**
 * The ceiling for bench/ws.ts: a bare `ws` server with rooms and nothing else (no auth, no
 * storage, no Redis). A client connects to /?room=<id>; each JSON frame it sends is parsed,
 * wrapped once and broadcast to every socket of its room, like the chat server's fan-out.
 */
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const server = createServer();
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 });

wss.on('connection', (socket, request) => {
  const room = new URL(request.url ?? '/', 'http://localhost').searchParams.get('room') ?? '0';
  const members = rooms.get(room) ?? new Set<WebSocket>();
  members.add(socket);
  rooms.set(room, members);
  socket.on('message', (data) => {
    const frame = JSON.stringify({ type: 'message', message: JSON.parse(data.toString()) as unknown });
    for (const member of members) member.send(frame);
  });
  socket.on('close', () => members.delete(socket));
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`baseline listening on ${address.port}`);
});
process.on('SIGTERM', () => {
  wss.close();
  server.close(() => process.exit(0));
});
