import { dictionary } from '@zxcvbn-ts/language-common';

/** bcrypt reads no more than 72 bytes: a longer password would match any other with the same first 72. */
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_BYTES = 8;

/** zxcvbn-ts's list of common passwords (about 49,000, from leaked password sets), lower-cased. */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));

export const passwordBytes = (password: string): number => Buffer.byteLength(password, 'utf8');

/**
 * Why a new password is refused, or undefined when it is acceptable: 8–72 bytes of UTF-8, not a
 * common password (case-insensitive), not the account's own username or email.
 */
export function passwordProblem(password: string, account: { username?: string; email?: string } = {}): string | undefined {
  const bytes = passwordBytes(password);
  if (bytes < MIN_PASSWORD_BYTES) return `must be at least ${MIN_PASSWORD_BYTES} bytes long`;
  if (bytes > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes of UTF-8 (it is ${bytes})`;
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common (it appears in lists of leaked passwords)';
  if (account.username && lower === account.username.toLowerCase()) return 'must not be the same as the username';
  if (account.email && lower === account.email.toLowerCase()) return 'must not be the same as the email';
  return undefined;
}
