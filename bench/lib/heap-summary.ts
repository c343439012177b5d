/**
 * What a number of sockets keeps alive, from two V8 heap snapshots of the server (one with no
 * socket, one with `count`): self size and object count by constructor (objects, closures,
 * native objects) or by node type (strings, arrays, code...), the difference divided by `count`.
 *
 *   npx tsx bench/lib/heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot COUNT [TOP]
 *
 * A snapshot is taken after a full GC, so this is live memory, not garbage awaiting collection.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Totals = Map<string, { size: number; count: number }>;

/** Types whose `name` is a constructor or function worth telling apart. */
const NAMED = new Set(['object', 'closure', 'native']);

function totalsOf(file: string): Totals {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const totals: Totals = new Map();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const key = NAMED.has(type) ? `${type} ${heap.strings[heap.nodes[i + nameAt]!]}` : type;
    const entry = totals.get(key) ?? { size: 0, count: 0 };
    entry.size += heap.nodes[i + sizeAt]!;
    entry.count += 1;
    totals.set(key, entry);
  }
  return totals;
}

const [beforeFile, afterFile, countArg, topArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !countArg) {
  console.error('usage: heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot COUNT [TOP]');
  process.exit(2);
}
const count = Number(countArg);
const before = totalsOf(beforeFile);
const after = totalsOf(afterFile);
const rows = [...after].map(([key, { size, count: objects }]) => {
  const old = before.get(key) ?? { size: 0, count: 0 };
  return { key, bytes: (size - old.size) / count, objects: (objects - old.count) / count };
});
rows.sort((a, b) => b.bytes - a.bytes);
const total = rows.reduce((sum, row) => sum + row.bytes, 0);
console.log(`live heap per socket: ${(total / 1024).toFixed(2)} KiB over ${count} sockets`);
console.log('| bytes per socket | objects per socket | constructor or type |');
console.log('|---|---|---|');
for (const row of rows.slice(0, Number(topArg ?? 30))) {
  console.log(`| ${row.bytes.toFixed(0)} | ${row.objects.toFixed(2)} | ${row.key.replaceAll('|', '\\|')} |`);
}
