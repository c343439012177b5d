import mariadb from 'mariadb';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';

/** Accepted friendships between `userId` and each of `friendIds`, in one batch. */
export async function seedFriendships(databaseUrl: string, userId: number, friendIds: readonly number[]): Promise<void> {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, database });
  try {
    await conn.batch(
      "INSERT INTO friendships (requester_id, addressee_id, user_low_id, user_high_id, status, updated_at) VALUES (?, ?, ?, ?, 'accepted', NOW(3))",
      friendIds.map((friendId) => [userId, friendId, Math.min(userId, friendId), Math.max(userId, friendId)]),
    );
  } finally {
    await conn.end();
  }
}
