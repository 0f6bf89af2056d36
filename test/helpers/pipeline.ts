/** Driving journeyline in tests: feeding events, waiting for a consumer group, running `journey` as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { inject } from 'vitest';
import type { Config } from '../../services/common/config.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { EventProducer } from '../../services/producer/event-producer.ts';
import { topicsFor } from '../../schemas/topics.ts';

export const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');

export async function produceAll(config: Config, events: readonly unknown[]): Promise<void> {
  const producer = await EventProducer.connect({
    kafka: createKafka(config.kafka, undefined),
    registry: createRegistry(config.registry),
    kafkaSettings: config.kafka,
    topics: topicsFor(config.topicPrefix),
    maxFutureSkewMs: 300_000,
  });
  try {
    for (let i = 0; i < events.length; i += 500) {
      const outcome = await producer.send(events.slice(i, i + 500));
      if (outcome.rejected > 0) throw new Error(`workload rejected: ${JSON.stringify(outcome.results.find((r) => r.status === 'rejected'))}`);
    }
  } finally {
    await producer.close();
  }
}

/** Of the records now in `topics`, the share `groupId` has committed (1 = caught up). */
export async function committedFraction(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    let done = 0;
    for (const topic of topics) {
      total += (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      done += (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    }
    return total === 0 ? 1 : done / total;
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once `groupId` has committed everything `topics` held when called. */
export async function caughtUp(kafka: Kafka, groupId: string, topics: readonly string[], timeoutMs = 90_000): Promise<void> {
  await pollUntil(async () => ((await committedFraction(kafka, groupId, topics)) >= 1 ? true : undefined), {
    timeoutMs,
    intervalMs: 200,
    what: `group ${groupId} to commit everything in ${topics.join(', ')}`,
  });
}

/** `journey <args>` as a child process on the test stack; its stderr goes to `log`. */
export function startJourney(args: readonly string[], env: Record<string, string>, log: { push: (line: string) => void }): ChildProcess {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', JOURNEY, ...args], {
    env: { ...process.env, ...inject('stackEnv'), LOG_LEVEL: 'info', ...env },
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
  const stopped = await Promise.race([
    exited(child).then(() => true),
    new Promise<boolean>((resolve) =>
      setTimeout(() => {
        resolve(false);
      }, 20_000),
    ),
  ]);
  if (!stopped) {
    child.kill('SIGKILL');
    throw new Error(`journey ${child.spawnargs.slice(3).join(' ')} did not stop within 20 s of SIGTERM`);
  }
}
