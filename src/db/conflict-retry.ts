/**
 * Transactions that the database rolled back because they collided with another one. InnoDB
 * resolves a deadlock by rolling one transaction back at once (ER_LOCK_DEADLOCK, 1213);
 * Prisma reports it as P2034 ("write conflict or a deadlock") with the driver's code inside,
 * and raw statements on the pool surface the driver's error itself. Such a transaction did
 * nothing and is safe to run again; a lock wait timeout (1205) is not retried: it already
 * waited innodb_lock_wait_timeout.
 */

const DEADLOCK_ERRNO = 1213;
/** SQLSTATE "serialization failure": the state MySQL and MariaDB give a deadlock (1213). */
const SERIALIZATION_FAILURE = '40001';

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** True for a deadlock / write conflict, in any of the shapes Prisma or the mariadb driver give it. */
export function isTransactionConflict(error: unknown): boolean {
  for (let link: unknown = error, depth = 0; link !== undefined && link !== null && depth < 5; depth += 1) {
    const code = field(link, 'code');
    if (code === 'P2034' || code === 'ER_LOCK_DEADLOCK') return true;
    if (field(link, 'errno') === DEADLOCK_ERRNO || field(link, 'sqlState') === SERIALIZATION_FAILURE) return true;
    const adapterCause = field(field(field(link, 'meta'), 'driverAdapterError'), 'cause');
    if (field(adapterCause, 'kind') === 'TransactionWriteConflict' || field(adapterCause, 'originalCode') === String(DEADLOCK_ERRNO)) {
      return true;
    }
    // P2010 (raw query failed) carries the server's code in meta.code.
    if (field(field(link, 'meta'), 'code') === String(DEADLOCK_ERRNO)) return true;
    link = field(link, 'cause');
  }
  return false;
}

export const CONFLICT_ATTEMPTS = 5;

/**
 * Runs `transaction` again, after a short random pause, when the database rolled it back as a
 * deadlock victim; at most `attempts` runs in all, then the last conflict is thrown. Only for
 * work whose every statement is inside that one transaction (a rolled-back run left nothing).
 */
export async function retryOnConflict<T>(transaction: () => Promise<T>, attempts = CONFLICT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= attempts || !isTransactionConflict(error)) throw error;
      // Spread the retries so the same two transactions do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
