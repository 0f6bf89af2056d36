/** Driving journeyline in tests: `journey` as a child process, plus the stream helpers of streams.ts. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';

import type { Config } from '../../services/common/config.ts';
import { pollUntil, withinDeadline } from '../../services/common/poll.ts';
import { freePort } from './net.ts';
import { TEST_QUERY_TOKEN } from './sql.ts';

export { caughtUp, committedFraction, processorCaughtUp, produceAll } from './streams.ts';

export const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');
/** A sink that SIGKILLs itself after an insert, before its commit (crashing-sink.ts). */
const CRASHING_SINK = path.resolve(import.meta.dirname, 'crashing-sink.ts');

/** `journey <args>` (or another `script`) as a child process on the test stack; its stderr goes to `log`. */
export function startJourney(
  args: readonly string[],
  env: Record<string, string>,
  log: { push: (line: string) => void },
  script: string = JOURNEY,
): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...inject('stackEnv'), LOG_LEVEL: 'info', QUERY_API_KEYS: TEST_QUERY_TOKEN, ...env },
    stdio: ['ignore', 'ignore', 'pipe'] as const,
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log.push(chunk.toString());
  });
  return child;
}

/** `journey <args>` to its end, on the test stack: exit code and output, whatever the code. */
export function runJourney(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [JOURNEY, ...args],
      // A command that never ends fails the test that ran it, with what it printed, instead of hanging it.
      { env: { ...process.env, ...inject('stackEnv'), QUERY_API_KEYS: TEST_QUERY_TOKEN, ...env }, timeout: 120_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      },
    );
  });
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

/**
 * `journey run sink` on its own chDB directory; `url()` waits until its query endpoint answers.
 * `crash`: instead a sink that SIGKILLs itself after that many inserted blocks of that topic.
 */
export async function startSink(
  config: Config,
  chdbPath: string,
  log: { push: (line: string) => void },
  extra: Record<string, string> = {},
  crash?: { readonly topic: string; readonly afterBlocks: number },
) {
  const port = await freePort();
  const child = startJourney(
    crash === undefined ? ['run', 'sink'] : [crash.topic, String(crash.afterBlocks)],
    // CLICKHOUSE_URL blank: its own embedded ClickHouse even when the stack has a server.
    {
      TOPIC_PREFIX: config.topicPrefix,
      CLICKHOUSE_URL: '',
      CHDB_PATH: chdbPath,
      QUERY_PORT: String(port),
      LOG_LEVEL: 'debug',
      SINK_BATCH_MAX_BYTES: '8192',
      SINK_BATCH_MIN_BYTES: '1',
      SINK_BATCH_MAX_WAIT_MS: '100',
      ...extra,
    },
    log,
    crash === undefined ? JOURNEY : CRASHING_SINK,
  );
  const base = `http://127.0.0.1:${port}`;
  const url = () =>
    pollUntil(
      async () =>
        (await fetch(`${base}/ping`).then(
          (r) => r.ok,
          () => false,
        ))
          ? base
          : undefined,
      {
        timeoutMs: 60_000,
        what: 'the sink to answer queries',
        giveUpIf: () =>
          child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode ?? ''})` : undefined,
      },
    );
  return { child, url };
}

/** A test's log file under .journeyline/test-logs (children's stderr, and its phases with their times): CI keeps it. */
export function testLog(name: string) {
  const logFile = path.resolve(import.meta.dirname, `../../.journeyline/test-logs/${name}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, '');
  const log = {
    push: (line: string) => {
      appendFileSync(logFile, line);
    },
  };
  const began = Date.now();
  const phase = (what: string) => {
    log.push(`--- ${what} at ${Date.now() - began} ms\n`);
  };
  return { log, phase };
}
