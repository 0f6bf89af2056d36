/**
 * The alerting service's detector: the processor's segment-KPI shares in, churn alerts out,
 * exactly once. The decisions are alert-book.ts's; this is the Kafka around them.
 *
 * Contract:
 * - One active instance. A window's shares come from every processor partition and land on the
 *   partition of their (segment, day), and a day is complete only once every processor partition
 *   has passed it, so one member must see the whole topic: the group's assignment
 *   (singleActiveAssigner) gives it all partitions; the others stand by and take over when it leaves.
 * - One transactional producer (transactional.id = the group): taking over fences the previous
 *   owner and aborts its open transaction; only then is the state rebuilt: the shares from the
 *   segment-kpis topic itself (compacted, latest revision per key: it is its own changelog), the
 *   published alerts from alerts-changelog.
 * - One batch = one transaction: the alert records, the changelog of the pairs that changed, the
 *   dead-letter copies of records that do not validate, and the consumer offset. A restart or a
 *   rebalance re-evaluates from what was committed and publishes nothing twice.
 * - A failed transaction drops the state (it ran ahead of what was committed) and rethrows:
 *   kafkajs re-reads from the committed offset and the state is rebuilt.
 */
import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { decodeOrSetAside, jsonDecoder } from '../common/decoding-consumer.ts';
import { commitBatch, ensureTopics, readPartitionsToEnd, singleActiveAssigner, topicOffsets, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { alertKey, type AlertRecord } from '../../schemas/alert-records.ts';
import { segmentKpiPartial } from '../../schemas/processor-outputs.ts';
import { topicsFor, type Topics } from '../../schemas/topics.ts';
import {
  absorb,
  evaluateBook,
  newAlertBook,
  restoreAlerts,
  type AlertBook,
  type BookSettings,
  type ChangelogRecord,
} from './alert-book.ts';
import { signalSettingsOf } from './segment-alerts.ts';

export interface AlertingDeps {
  readonly kafka: Kafka;
  readonly config: Config;
  readonly logger: Logger;
}

export interface RunningAlerting {
  /** Resolves if the consumer stops for good on its own (see whenConsumerDies). */
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

export const alertingGroupOf = (config: Config) => `${config.topicPrefix}alerts`;

const RESTORE_TIMEOUT_MS = 300_000;

async function partitionsOf(kafka: Kafka, topic: string): Promise<{ all: number[]; withRecords: number }> {
  const offsets = await topicOffsets(kafka, topic);
  return { all: offsets.map((o) => o.partition), withRecords: offsets.filter((o) => o.high > 0n).length };
}

/** What the active instance holds: the fenced producer, the rebuilt state, the settings of its run. */
interface Active {
  readonly producer: Producer;
  readonly book: AlertBook;
  settings: BookSettings;
  /** When the count of processor partitions with events was last read. */
  partitionsReadAt: number;
}

/** Processor partitions that never had an event publish no progress: the others decide when a day is complete. */
const PARTITIONS_FRESH_MS = 10_000;

async function withProcessorPartitions(kafka: Kafka, topics: Topics, active: Active): Promise<void> {
  if (performance.now() - active.partitionsReadAt < PARTITIONS_FRESH_MS) return;
  const processors = await partitionsOf(kafka, topics.events.name);
  active.settings = { ...active.settings, partitions: Math.max(1, processors.withRecords) };
  active.partitionsReadAt = performance.now();
}

/** Takes over: fence, then rebuild the state from the two compacted topics. */
async function takeOver(deps: AlertingDeps, topics: Topics, groupId: string): Promise<Active> {
  const { kafka, config, logger } = deps;
  const producer = kafka.producer({
    transactionalId: groupId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect(); // initProducerId: fences the previous active instance
  try {
    const began = performance.now();
    const book = newAlertBook();
    const shares = await partitionsOf(kafka, topics.segmentKpis.name);
    let unreadable = 0;
    const sharesRead = await readPartitionsToEnd(
      kafka,
      topics.segmentKpis.name,
      shares.all,
      (_partition, _key, value) => {
        const parsed = value === null ? undefined : segmentKpiPartial.safeParse(JSON.parse(value.toString()));
        if (parsed?.success === true) absorb(book, parsed.data);
        else if (value !== null) unreadable++; // dead-lettered when it was consumed
      },
      RESTORE_TIMEOUT_MS,
    );
    const changelog = await partitionsOf(kafka, topics.alertsChangelog.name);
    await readPartitionsToEnd(
      kafka,
      topics.alertsChangelog.name,
      changelog.all,
      (_partition, key, value) => {
        const problem = restoreAlerts(book, key, value === null ? null : value.toString());
        if (problem !== undefined) logger.warn({ event: 'alerts.changelog_skipped', key, problem });
      },
      RESTORE_TIMEOUT_MS,
    );
    const processors = await partitionsOf(kafka, topics.events.name);
    const settings: BookSettings = {
      signals: signalSettingsOf(config.alerts.signals),
      lookbackDays: config.alerts.lookbackDays,
      partitions: Math.max(1, processors.withRecords),
    };
    logger.info({
      event: 'alerts.restored',
      shares: sharesRead,
      unreadable,
      segments: book.segments.size,
      alerts: book.records.size,
      processorPartitions: settings.partitions,
      ms: Math.round(performance.now() - began),
    });
    return { producer, book, settings, partitionsReadAt: performance.now() };
  } catch (error: unknown) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
}

function outputsOf(
  topics: Topics,
  records: readonly AlertRecord[],
  changelog: readonly ChangelogRecord[],
  deadLetters: TopicMessages['messages'],
) {
  return [
    { topic: topics.alerts.name, messages: records.map((r) => ({ key: alertKey(r.segment, r.signal), value: JSON.stringify(r) })) },
    { topic: topics.alertsChangelog.name, messages: changelog.map((c) => ({ key: c.key, value: c.value })) },
    { topic: topics.deadLetter.name, messages: [...deadLetters] },
  ].filter((t) => t.messages.length > 0);
}

export async function runAlerting(deps: AlertingDeps): Promise<RunningAlerting> {
  const { kafka, config, logger } = deps;
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = alertingGroupOf(config);
  const decodeShare = jsonDecoder(segmentKpiPartial);
  let active: Promise<Active> | undefined;

  const release = async () => {
    const was = active;
    active = undefined;
    await (await was?.catch(() => undefined))?.producer.disconnect();
  };
  const acquire = () => {
    if (active === undefined) {
      const taking = takeOver(deps, topics, groupId);
      taking.catch(() => {
        if (active === taking) active = undefined;
      });
      active = taking;
    }
    return active;
  };

  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    partitionAssigners: [singleActiveAssigner],
    maxWaitTimeInMs: 1_000,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = payload.memberAssignment[topics.segmentKpis.name] ?? [];
    logger.info({ event: 'alerts.assigned', active: assigned.length > 0, partitions: assigned.length });
    if (assigned.length === 0)
      release().catch((error: unknown) => {
        logger.warn({ event: 'alerts.release_failed', err: error });
      });
  });
  const died = whenConsumerDies(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic: topics.segmentKpis.name, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const last = batch.messages.at(-1);
      if (last === undefined || payload.isStale()) return;
      const taken = await acquire();
      await withProcessorPartitions(kafka, topics, taken);
      const { producer, book, settings } = taken;
      const { decoded, poison } = await decodeOrSetAside(batch, decodeShare, groupId);
      for (const { message, reason } of poison)
        logger.warn({ event: 'alerts.dead_letter', partition: batch.partition, offset: message.offset, reason });
      for (const { value } of decoded) absorb(book, value);
      const { records, changelog } = evaluateBook(book, settings, new Date().toISOString());
      const outputs = outputsOf(
        topics,
        records,
        changelog,
        poison.map((p) => p.deadLetter),
      );
      try {
        await commitBatch(
          producer,
          groupId,
          { topic: batch.topic, partition: batch.partition, next: (BigInt(last.offset) + 1n).toString() },
          outputs,
        );
      } catch (error: unknown) {
        await release();
        logger.warn({ event: 'alerts.transaction_failed', err: error }, 'batch not committed; state will be rebuilt');
        throw error;
      }
      for (const r of records) {
        logger.info(
          {
            event: `alerts.${r.change}`,
            alert: r.alert_id,
            segment: r.segment,
            signal: r.signal,
            value: r.value,
            threshold: r.threshold,
            day: r.window_day,
          },
          `${r.segment}: ${r.signal} ${r.change}`,
        );
      }
      payload.resolveOffset(last.offset);
      await payload.heartbeat();
    },
  });

  return {
    died,
    stop: async () => {
      await consumer.disconnect();
      await release();
    },
  };
}
