import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) read here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time, ms. */
  totalMs: number;
  idleMs: number;
  gcMs: number;
  /** Self time by function, largest first. */
  top: { name: string; ms: number }[];
  /**
   * Stretches of the main thread busy without an idle sample in between (the event loop could
   * not answer anything meanwhile), longest first, each with what filled it.
   */
  stalls: { atMs: number; ms: number; gcMs: number; top: { name: string; ms: number }[] }[];
}

const IDLE = new Set(['(idle)']);
const GC = '(garbage collector)';

function frameName(node: CpuProfile['nodes'][number]): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/** Adds `ms` to `key` of `into`. */
function add(into: Map<string, number>, key: string, ms: number): void {
  into.set(key, (into.get(key) ?? 0) + ms);
}

const largest = (totals: Map<string, number>, count: number) =>
  [...totals].sort((x, y) => y[1] - x[1]).slice(0, count).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));

/**
 * Self time per function, and the busy stretches of at least `stallMs` with their own
 * self-time breakdown (a stretch ends at the first "(idle)" sample: the loop was waiting).
 */
export function summarizeProfile(file: string, stallMs = 40, count = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const names = new Map(profile.nodes.map((node) => [node.id, frameName(node)]));
  const self = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let elapsedMs = 0;
  const stalls: ProfileSummary['stalls'] = [];
  let stretch: { atMs: number; ms: number; gcMs: number; self: Map<string, number> } | undefined;
  const closeStretch = () => {
    if (stretch && stretch.ms >= stallMs) stalls.push({ atMs: Math.round(stretch.atMs), ms: Math.round(stretch.ms), gcMs: Math.round(stretch.gcMs), top: largest(stretch.self, 5) });
    stretch = undefined;
  };
  for (let i = 0; i < profile.samples.length; i += 1) {
    // A sample's delta is the time since the previous one: that time is charged to this sample.
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    elapsedMs += ms;
    const name = names.get(profile.samples[i]!) ?? '?';
    add(self, name, ms);
    if (IDLE.has(name)) {
      idleMs += ms;
      closeStretch();
      continue;
    }
    if (name === GC) gcMs += ms;
    stretch ??= { atMs: elapsedMs - ms, ms: 0, gcMs: 0, self: new Map() };
    stretch.ms += ms;
    if (name === GC) stretch.gcMs += ms;
    add(stretch.self, name, ms);
  }
  closeStretch();
  return {
    totalMs: Math.round(elapsedMs),
    idleMs: Math.round(idleMs),
    gcMs: Math.round(gcMs),
    top: largest(self, count).filter((entry) => !IDLE.has(entry.name)),
    stalls: stalls.sort((x, y) => y.ms - x.ms).slice(0, count),
  };
}
