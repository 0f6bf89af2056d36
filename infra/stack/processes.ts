/**
 * Detached background processes that outlive the command that started them, tracked by a marker
 * on their command line so `down` finds every one of ours even if the state file was lost.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';

export function markerFor(stateDir: string): string {
  return `-Djourneyline.stack=${stateDir}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PIDs of live processes whose command line carries the marker of `stateDir`. */
export function processesMarkedWith(stateDir: string): number[] {
  const marker = markerFor(stateDir);
  const table = execFileSync('ps', ['-eww', '-o', 'pid=', '-o', 'args='], { encoding: 'utf8' });
  const pids: number[] = [];
  for (const line of table.split('\n')) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    // The marker ends at a space: a state dir that is a prefix of another must not match it.
    if (match[2].includes(`${marker} `) || match[2].endsWith(marker)) pids.push(Number(match[1]));
  }
  return pids.filter((pid) => pid !== process.pid);
}

export function spawnDetached(command: string, args: readonly string[], options: { cwd: string; logFile: string }): number {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: options.cwd, detached: true, stdio: ['ignore', log, log] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Signals a detached child and its process group (SIGKILL, SIGTERM, or SIGSTOP/SIGCONT to freeze and thaw it). */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // Detached children lead their own process group; signal the group so helpers go too.
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once none of `pids` is alive. */
export async function stopProcesses(pids: readonly number[], graceMs: number): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(200);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < killDeadline) await sleep(100);
  const survivors = pids.filter(isAlive);
  if (survivors.length > 0) throw new Error(`processes ${survivors.join(', ')} survived SIGKILL`);
}

export type PortCheck = { free: true } | { free: false; reason: string };

export async function checkPortFree(port: number, host = '127.0.0.1'): Promise<PortCheck> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ free: false, reason: error.code ?? error.message });
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve({ free: true });
      });
    });
  });
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log yet)';
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
