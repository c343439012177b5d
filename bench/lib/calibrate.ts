/**
 * Two figures of the machine itself, printed beside each full run so that runs on different
 * machines can be compared: a fixed CPU-bound loop, and 1-byte round trips over loopback TCP
 * between two Node processes (each one a write, a wake-up of the other process and a read: what
 * every MariaDB, Redis and HTTP exchange of the benchmarks pays).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { round } from './stats.ts';

const ROUND_TRIPS = 20_000;
const LOOP_ITERATIONS = 300_000_000;
const ECHO_SERVER = "const s = require('node:net').createServer((c) => c.on('data', (d) => c.write(d))).listen(0, '127.0.0.1', () => process.send(s.address().port));";

export interface Calibration {
  cpuLoopMs: number;
  loopbackRoundTripsPerSecond: number;
}

function cpuLoopMs(): number {
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < LOOP_ITERATIONS; i += 1) sum += i % 7;
  if (sum < 0) throw new Error('unreachable');
  return round(performance.now() - started, 0);
}

/** An echo server in a child process; this process sends one byte and waits for it, ROUND_TRIPS times. */
async function loopbackRoundTripsPerSecond(): Promise<number> {
  const echo = spawn(process.execPath, ['-e', ECHO_SERVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve) => echo.once('message', (message) => resolve(Number(message))));
    return await new Promise<number>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let started = 0;
      let count = 0;
      socket.once('connect', () => {
        started = performance.now();
        socket.write('x');
      });
      socket.on('data', () => {
        count += 1;
        if (count < ROUND_TRIPS) return void socket.write('x');
        socket.destroy();
        resolve(round(ROUND_TRIPS / ((performance.now() - started) / 1000), 0));
      });
      socket.once('error', reject);
    });
  } finally {
    echo.kill();
  }
}

export async function calibrate(): Promise<Calibration> {
  return { cpuLoopMs: cpuLoopMs(), loopbackRoundTripsPerSecond: await loopbackRoundTripsPerSecond() };
}
