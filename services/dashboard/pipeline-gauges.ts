/**
 * The pipeline breathing, for the dashboard's live panel, from Kafka itself (ClickHouse only knows
 * what has landed): events in per second (the events topic's end offsets, sampled), the
 * processor's lag (those ends minus its group's committed offsets) and the dead letters.
 *
 * Dead letters are counted by reading the topic, read_committed, rather than from its offsets:
 * transactional writers leave a commit marker after their records, which offsets would count too.
 * The reader is a group of its own per process that never commits, so it reads the topic from its
 * start each time and no two dashboards split it; it keeps a count and the last few reasons only.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { DEAD_LETTER_HEADERS, identityGroupName, processorGroupName, topicsFor } from '../../schemas/topics.ts';
import { runSupervised, type SupervisorOptions } from '../common/consumer-supervisor.ts';
import type { DependencyState } from '../common/readiness.ts';
import type { Logger } from '../common/logger.ts';

export interface DeadLetterSummary {
  readonly at: string;
  readonly stage: string;
  readonly sourceTopic: string;
  readonly reason: string;
}

export interface LiveSample {
  readonly at: string;
  readonly eventsPerSecond: number | null;
  readonly processorLag: number | null;
}

export interface LiveGauges {
  /** When Kafka last answered; null before the first answer. */
  readonly sampledAt: string | null;
  /**
   * Kafka as the sampler finds it: down once a sample failed or waited 15 s, slow while one has
   * waited 5 s (a box busy with its own load is not an outage), else up.
   */
  readonly kafka: DependencyState;
  readonly eventsPerSecond: number | null;
  readonly eventsTotal: number | null;
  readonly processorLag: number | null;
  readonly deadLetters: number;
  readonly recentDeadLetters: readonly DeadLetterSummary[];
  /** The last few minutes, oldest first. */
  readonly samples: readonly LiveSample[];
}

export interface RunningGauges {
  read(): LiveGauges;
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

const SAMPLE_EVERY_MS = 2_000;
const SLOW_AFTER_MS = 5_000;
const DOWN_AFTER_MS = 15_000;
const SAMPLES_KEPT = 150;
const RECENT_DEAD_LETTERS = 8;

/** The end and committed offsets of a topic summed over its partitions: events, and the processor's lag behind them. */
async function offsetsOf(admin: Admin, topic: string, groupId: string): Promise<{ end: number; lag: number }> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committedBy = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let end = 0;
  let lag = 0;
  for (const p of ends) {
    end += Number(p.high);
    const done = committedBy.get(p.partition) ?? -1;
    lag += Math.max(0, Number(p.high) - (done < 0 ? Number(p.low) : done));
  }
  return { end, lag };
}

const header = (headers: Readonly<Record<string, unknown>> | undefined, name: string): string => {
  const value = headers?.[name];
  return Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'string' ? value : '';
};

/** The dead letters counted from the topic's start, and the latest few: read by a group of its own, never committed. */
async function followDeadLetters(kafka: Kafka, topicPrefix: string, topic: string, supervision: SupervisorOptions) {
  const seen = { deadLetters: 0, recent: [] as DeadLetterSummary[] };
  const following = await runSupervised(
    kafka.consumer({ groupId: `${topicPrefix}dashboard.dead-letters.${randomUUID()}`, readUncommitted: false }),
    { topics: [topic], fromBeginning: true },
    {
      autoCommit: false,
      eachBatch: ({ batch }) => {
        seen.deadLetters += batch.messages.length;
        const latest = batch.messages.slice(-RECENT_DEAD_LETTERS).map((message) => ({
          at: header(message.headers, DEAD_LETTER_HEADERS.failedAt) || new Date(Number(message.timestamp)).toISOString(),
          stage: header(message.headers, DEAD_LETTER_HEADERS.stage),
          sourceTopic: header(message.headers, DEAD_LETTER_HEADERS.sourceTopic),
          reason: header(message.headers, DEAD_LETTER_HEADERS.reason).slice(0, 300),
        }));
        seen.recent = [...seen.recent, ...latest].sort((a, b) => a.at.localeCompare(b.at)).slice(-RECENT_DEAD_LETTERS);
        return Promise.resolve();
      },
    },
    supervision,
  );
  return { seen, ...following };
}

export async function startPipelineGauges(
  kafka: Kafka,
  topicPrefix: string,
  logger: Logger,
  outageToleranceMs: number,
): Promise<RunningGauges> {
  const topics = topicsFor(topicPrefix);
  const [identityGroup, processorGroup] = [identityGroupName(topicPrefix), processorGroupName(topicPrefix)];
  const admin = kafka.admin();
  await admin.connect();

  let samples: LiveSample[] = [];
  let previous: { end: number; atMs: number } | undefined;
  let sampledAt: string | null = null;
  let eventsTotal: number | null = null;
  let failing = false;
  let sampleSince: number | undefined;
  const kafkaState = (): DependencyState => {
    if (failing) return 'down';
    const waited = sampleSince === undefined ? 0 : Date.now() - sampleSince;
    return waited >= DOWN_AFTER_MS ? 'down' : waited >= SLOW_AFTER_MS ? 'slow' : 'up';
  };
  const sample = async () => {
    sampleSince = Date.now();
    try {
      // Not yet counted: events the identity step has not resolved, and resolved ones the journey step has not counted.
      const { end, lag: unresolved } = await offsetsOf(admin, topics.events.name, identityGroup);
      const { lag: uncounted } = await offsetsOf(admin, topics.resolvedEvents.name, processorGroup);
      const lag = unresolved + uncounted;
      const now = Date.now();
      const eventsPerSecond = previous === undefined ? null : Math.max(0, ((end - previous.end) * 1000) / (now - previous.atMs));
      previous = { end, atMs: now };
      sampledAt = new Date(now).toISOString();
      eventsTotal = end;
      samples = [...samples.slice(-(SAMPLES_KEPT - 1)), { at: sampledAt, eventsPerSecond, processorLag: lag }];
      if (failing) logger.info({ event: 'dashboard.gauges_recovered' }, 'Kafka answers the live panel again');
      failing = false;
    } catch (error: unknown) {
      // The panel shows how old its numbers are; one log line per outage, not one per sample.
      if (!failing) logger.warn({ event: 'dashboard.gauges_failed', err: error }, 'cannot read offsets for the live panel');
      failing = true;
    } finally {
      sampleSince = undefined;
    }
  };
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, SAMPLE_EVERY_MS);
  await sample();

  const deadLetters = await followDeadLetters(kafka, topicPrefix, topics.deadLetter.name, {
    name: 'dashboard.dead_letters',
    logger,
    outageToleranceMs,
  }).catch(async (error: unknown) => {
    clearInterval(timer);
    await admin.disconnect().catch(() => undefined);
    throw error;
  });

  return {
    read: () => ({
      sampledAt,
      kafka: kafkaState(),
      eventsPerSecond: samples.at(-1)?.eventsPerSecond ?? null,
      eventsTotal,
      processorLag: samples.at(-1)?.processorLag ?? null,
      deadLetters: deadLetters.seen.deadLetters,
      recentDeadLetters: [...deadLetters.seen.recent].reverse(),
      samples,
    }),
    died: deadLetters.died,
    stop: async () => {
      clearInterval(timer);
      await sampling;
      await Promise.allSettled([deadLetters.stop(), admin.disconnect()]);
    },
  };
}
