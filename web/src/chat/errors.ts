/** The server's messages are English; these are the ones a chat user meets, in Korean. */
const KNOWN: readonly [RegExp, string][] = [
  [/cannot message this user/i, '이 사용자에게는 메시지를 보낼 수 없습니다'],
  [/only the author can edit/i, '내 메시지만 수정할 수 있습니다'],
  [/deleted message cannot/i, '삭제된 메시지입니다'],
  [/only the author or a room owner\/admin/i, '이 메시지를 삭제할 권한이 없습니다'],
  [/only the owner or an admin/i, '방장이나 관리자만 할 수 있습니다'],
  [/only the owner can/i, '방장만 할 수 있습니다'],
  [/owner cannot be removed|owner's role cannot/i, '방장은 바꿀 수 없습니다'],
  [/cannot remove this member/i, '이 멤버를 내보낼 권한이 없습니다'],
  [/not an image: send it as a file/i, '이미지가 아닌 파일입니다'],
  [/file is empty/i, '빈 파일은 보낼 수 없습니다'],
  [/too many messages/i, '메시지를 너무 빨리 보내고 있습니다. 잠시 후 다시 시도하세요'],
  [/join room \d+ first|not a member/i, '이 방의 멤버가 아닙니다'],
];

const BY_CODE: Partial<Record<string, string>> = {
  not_found: '찾을 수 없습니다',
  forbidden: '권한이 없습니다',
  conflict: '처리할 수 없습니다 (이미 처리되었거나 방이 가득 찼습니다)',
  rate_limited: '너무 자주 시도했습니다. 잠시 후 다시 시도하세요',
  payload_too_large: '파일이 너무 큽니다 (최대 20MB)',
  unsupported_media_type: '이미지 파일을 읽을 수 없습니다',
  network_error: '서버에 연결할 수 없습니다. 잠시 후 다시 시도하세요',
};

/** A Korean sentence for a server message (a socket error's, or a REST body's). */
export function korean(message: string): string {
  for (const [pattern, text] of KNOWN) if (pattern.test(message)) return text;
  return message;
}

/** A Korean sentence for a REST error body, or `fallback` when there is none. */
export function describe(error: { error?: string; message: string } | undefined, fallback: string): string {
  if (!error) return fallback;
  const known = korean(error.message);
  if (known !== error.message) return known;
  return (error.error && BY_CODE[error.error]) || `${fallback}: ${error.message}`;
}
