import { readdirSync, readFileSync } from 'node:fs';

/** The p-th percentile (0-100) of the samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc, 100 ticks a second). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `--name value` and `--flag` from process.argv. */
export function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

export const hasFlag = (name: string) => process.argv.includes(`--${name}`);

export function progress(line: string): void {
  process.stderr.write(`\r\x1b[2K${line}`);
}

export function endProgress(): void {
  process.stderr.write('\n');
}

/** Pids of the processes whose command name (/proc/<pid>/comm) is `name` (mariadbd, redis-server). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false; // it exited meanwhile
      }
    })
    .map(Number);
}

/** CPU seconds used by each named process between `start()` and `stop()` (Linux /proc). */
export function cpuMeter(processes: Record<string, number[]>): { stop: () => Record<string, number> } {
  const total = (pids: number[]) => pids.reduce((sum, pid) => sum + safeCpuSecondsOf(pid), 0);
  const before = Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, total(pids)]));
  return {
    stop: () => Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, round(total(pids) - (before[name] ?? 0), 2)])),
  };
}

function safeCpuSecondsOf(pid: number): number {
  try {
    return cpuSecondsOf(pid);
  } catch {
    return 0;
  }
}
