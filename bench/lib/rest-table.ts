export interface RestResult {
  target: string;
  requestsPerSecond: number;
  p99: number;
  bareRequestsPerSecond: number;
  bareP99: number;
  ratio: number;
  errors: number;
  /** The same-SQL ceiling, for the DB-bound targets: a bare route running the endpoint's statement. */
  sql?: { requestsPerSecond: number; p99: number; ratio: number };
}

/** The REST table, both ceilings beside each target (also used by bench/run-all.ts). */
export function restTable(results: readonly RestResult[]): string[] {
  return [
    '| endpoint | req/s | p99 ms | same-SQL req/s | same-SQL p99 ms | % of same SQL | bare bytes req/s | bare p99 ms | % of bare bytes | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r) => {
      const sql = r.sql ? `${r.sql.requestsPerSecond} | ${r.sql.p99} | ${r.sql.ratio}%` : '- | - | -';
      return `| ${r.target} | ${r.requestsPerSecond} | ${r.p99} | ${sql} | ${r.bareRequestsPerSecond} | ${r.bareP99} | ${r.ratio}% | ${r.errors} |`;
    }),
  ];
}
