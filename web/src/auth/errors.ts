import type { Schema } from '@bigtech/chat-client';

type ApiError = Schema<'Error'>;

/** Field name → message shown next to that field; `form` for what belongs to no field. */
export type FieldErrors = Partial<Record<string, string>> & { form?: string };

const KNOWN: readonly [RegExp, string][] = [
  [/invalid email/i, '올바른 이메일 주소를 입력하세요'],
  [/only letters, digits and underscores/i, '영문, 숫자, 밑줄(_)만 쓸 수 있습니다'],
  [/at least 8 bytes/i, '비밀번호는 8바이트 이상이어야 합니다'],
  [/at most 72 bytes/i, '비밀번호는 72바이트 이하여야 합니다'],
  [/too common/i, '너무 흔한 비밀번호입니다. 다른 비밀번호를 쓰세요'],
  [/same as the username/i, '아이디와 다른 비밀번호를 쓰세요'],
  [/same as the email/i, '이메일과 다른 비밀번호를 쓰세요'],
  [/control characters/i, '쓸 수 없는 문자가 들어 있습니다'],
];

/** The server's messages are English; the UI is Korean. Unknown ones are shown as they are. */
function translate(field: string | undefined, message: string): string {
  for (const [pattern, korean] of KNOWN) if (pattern.test(message)) return korean;
  const small = /too small: expected string to have >=(\d+)/i.exec(message);
  if (small) return small[1] === '1' ? '입력하세요' : `${small[1]}자 이상 입력하세요`;
  const big = /too big: expected string to have <=(\d+)/i.exec(message);
  if (big) return `${big[1]}자 이하로 입력하세요`;
  if (field === 'username' && /required|expected string/i.test(message)) return '아이디를 입력하세요';
  return message;
}

interface Detail {
  field?: unknown;
  message?: unknown;
}

/** The contract's error body → messages per field (from `details`), the rest as a form error. */
export function fieldErrors(error: ApiError | undefined, fallback: string): FieldErrors {
  if (!error) return { form: fallback };
  switch (error.error) {
    case 'invalid_credentials':
      return { form: '이메일 또는 비밀번호가 올바르지 않습니다' };
    case 'rate_limited':
      return { form: '시도가 너무 많습니다. 잠시 후 다시 시도하세요' };
    case 'conflict':
      if (/email/i.test(error.message)) return { email: '이미 가입된 이메일입니다' };
      if (/username/i.test(error.message)) return { username: '이미 사용 중인 아이디입니다' };
      return { form: error.message };
    case 'service_unavailable':
    case 'internal_error':
      return { form: '서버에 문제가 있습니다. 잠시 후 다시 시도하세요' };
    default:
      break;
  }
  const result: FieldErrors = {};
  for (const raw of (error.details ?? []) as Detail[]) {
    const field = typeof raw.field === 'string' ? raw.field : undefined;
    const message = translate(field, typeof raw.message === 'string' ? raw.message : error.message);
    if (field && result[field] === undefined) result[field] = message;
    else if (!field) result.form ??= message;
  }
  if (Object.keys(result).length === 0) result.form = translate(undefined, error.message);
  return result;
}
