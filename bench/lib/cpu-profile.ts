import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that a summary needs. */
interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  /** Share of the busy (non-idle) time, in percent. */
  percent: number;
}

export interface ProfileSummary {
  /** Busy time sampled, in ms. */
  busyMs: number;
  /** Functions by self time. */
  frames: ProfileLine[];
  /** Self time grouped by where the code lives: an npm package, a file of ours, node internals, GC. */
  groups: ProfileLine[];
}

/** Where a frame's code lives: `pkg:<package>`, `src/<file>`, `node:<module>`, or V8's own `(garbage collector)` and the like. */
function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg:${pkg[1]}`;
  const own = /\/(src\/.+|bench\/.+)$/.exec(url);
  if (own) return own[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  return url;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const where = groupOf(frame.url, frame.functionName);
  const fn = frame.functionName || '(anonymous)';
  return frame.url === '' ? fn : `${fn} (${where}:${frame.lineNumber + 1})`;
}

const top = (totals: Map<string, number>, busy: number, count: number): ProfileLine[] =>
  [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, percent: Math.round((us / busy) * 1000) / 10 }));

/**
 * Self time by function and by group, idle time left out, from one `.cpuprofile` file; only the
 * last `lastMs` of the profile when given (the load, not the start-up). A native or Node-internal
 * frame (socket writes, string encoding) is grouped with its nearest caller outside Node, so the places add up to the
 * work each library or file of ours causes.
 */
export function summarizeProfile(file: string, count = 15, lastMs?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const from = lastMs === undefined ? -Infinity : profile.endTime - lastMs * 1000;
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const callerGroup = (id: number): string => {
    for (let current = parentOf.get(id); current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)?.callFrame;
      const group = frame && frame.url !== '' ? groupOf(frame.url, frame.functionName) : undefined;
      if (group && !group.startsWith('node:')) return group;
    }
    return '(native)';
  };
  const frames = new Map<string, number>();
  const groups = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    busy += us;
    const name = frameName(frame);
    frames.set(name, (frames.get(name) ?? 0) + us);
    const own = groupOf(frame.url, frame.functionName);
    const group = own === '(native)' || own.startsWith('node:') ? callerGroup(id) : own;
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  return { busyMs: Math.round(busy / 1000), frames: top(frames, busy, count), groups: top(groups, busy, count) };
}

/** The one `.cpuprofile` a process left in `dir`. */
export function profileIn(dir: string): string {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return path.join(dir, file);
}

export function formatSummary(title: string, summary: ProfileSummary): string[] {
  return [
    `### ${title} (${summary.busyMs} ms busy)`,
    '',
    '| self time by function | % | | self time by place | % |',
    '|---|---|---|---|---|',
    ...summary.frames.map((frame, i) => {
      const group = summary.groups[i];
      return `| ${frame.name} | ${frame.percent} | | ${group ? `${group.name} | ${group.percent}` : ' | '} |`;
    }),
  ];
}

/** Where the event loop was busy for long: what a latency probe waited behind (bench/flood.ts). */
export interface StallSummary {
  /** Sampled time, ms. */
  totalMs: number;
  idleMs: number;
  gcMs: number;
  /** Self time by function, largest first. */
  top: { name: string; ms: number }[];
  /** Stretches busy without an idle sample in between, longest first, each with what filled it. */
  stalls: { atMs: number; ms: number; gcMs: number; top: { name: string; ms: number }[] }[];
}

const GC_FRAME = '(garbage collector)';

function addMs(into: Map<string, number>, key: string, ms: number): void {
  into.set(key, (into.get(key) ?? 0) + ms);
}

const largestMs = (totals: Map<string, number>, count: number) =>
  [...totals].sort((x, y) => y[1] - x[1]).slice(0, count).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));

/**
 * Self time per function, and the busy stretches of at least `stallMs` with their own breakdown
 * (a stretch ends at the first "(idle)" sample: the loop was waiting again).
 */
export function summarizeStalls(file: string, stallMs = 40, count = 12): StallSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const names = new Map(profile.nodes.map((node) => [node.id, frameName(node.callFrame)]));
  const self = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let elapsedMs = 0;
  const stalls: StallSummary['stalls'] = [];
  let stretch: { atMs: number; ms: number; gcMs: number; self: Map<string, number> } | undefined;
  const closeStretch = () => {
    if (stretch && stretch.ms >= stallMs) stalls.push({ atMs: Math.round(stretch.atMs), ms: Math.round(stretch.ms), gcMs: Math.round(stretch.gcMs), top: largestMs(stretch.self, 5) });
    stretch = undefined;
  };
  profile.samples.forEach((id, i) => {
    // A sample's delta is the time since the previous one: that time is charged to this sample.
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    elapsedMs += ms;
    const name = names.get(id) ?? '?';
    addMs(self, name, ms);
    if (name === '(idle)') {
      idleMs += ms;
      closeStretch();
      return;
    }
    if (name === GC_FRAME) gcMs += ms;
    stretch ??= { atMs: elapsedMs - ms, ms: 0, gcMs: 0, self: new Map() };
    stretch.ms += ms;
    if (name === GC_FRAME) stretch.gcMs += ms;
    addMs(stretch.self, name, ms);
  });
  closeStretch();
  return {
    totalMs: Math.round(elapsedMs),
    idleMs: Math.round(idleMs),
    gcMs: Math.round(gcMs),
    top: largestMs(self, count).filter((entry) => entry.name !== '(idle)'),
    stalls: stalls.sort((x, y) => y.ms - x.ms).slice(0, count),
  };
}
