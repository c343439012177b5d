/**
 * The logical database index of a redis:// URL (`redis://host:6379/3` → 3; none → 0).
 * Pub/sub ignores SELECT, so channel names carry this index to keep deployments (or test runs)
 * sharing one Redis server on different dbs apart.
 */
export function redisDbIndex(url: string): number {
  const fromPath = new URL(url).pathname.replace(/^\//, '');
  const index = Number(fromPath || '0');
  return Number.isInteger(index) && index >= 0 ? index : 0;
}
