/** Driving journeyline in tests: `journey` as a child process, plus the stream helpers of streams.ts. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

import { withinDeadline } from '../../services/common/poll.ts';
import { TEST_QUERY_TOKEN } from './sql.ts';

export { caughtUp, committedFraction, produceAll } from './streams.ts';

export const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');

/** `journey <args>` as a child process on the test stack; its stderr goes to `log`. */
export function startJourney(args: readonly string[], env: Record<string, string>, log: { push: (line: string) => void }): ChildProcess {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', JOURNEY, ...args], {
    env: { ...process.env, ...inject('stackEnv'), LOG_LEVEL: 'info', QUERY_API_KEYS: TEST_QUERY_TOKEN, ...env },
    stdio: ['ignore', 'ignore', 'pipe'] as const,
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log.push(chunk.toString());
  });
  return child;
}

export const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once('exit', () => {
        resolve();
      });
  });

/** Asks a child to stop; one that has not exited 20 s after SIGTERM is a failure, not a wait. */
export async function stopJourney(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  try {
    await withinDeadline(exited(child), 20_000, `journey ${child.spawnargs.slice(3).join(' ')} stopping after SIGTERM`);
  } catch (error: unknown) {
    child.kill('SIGKILL');
    throw error;
  }
}
