/**
 * The journey processor: a consumer group over the events topic that keeps each customer's stage,
 * profile and the daily KPI windows, exactly once.
 *
 * Contract:
 * - Every input partition has its own transactional producer (transactional.id =
 *   <group>.<partition>). Taking a partition starts that producer, which fences any earlier owner
 *   (a zombie, or this process before a SIGKILL) and aborts its open transaction; only then is the
 *   partition's state read back from the compacted changelog.
 * - One batch = one transaction: outputs (transitions, profiles, KPI window partials, late and
 *   dead-letter copies), the changelog records of what changed, and the consumer offset. Readers
 *   of the outputs read committed, so a crash at any point leaves either all of a batch or none.
 * - Processing is deterministic in the order of the partition, so the batch re-read after a crash
 *   yields the same outputs as the one that was lost.
 * - An event the rules throw on (PartitionState.apply changes nothing before it could throw) goes
 *   to the dead-letter topic with the error as its reason, in the same transaction: one event
 *   never stalls its partition.
 * - If a transaction fails, the partition's in-memory state is discarded (it ran ahead of what was
 *   committed) and the error is rethrown: kafkajs re-reads from the committed offset and the state
 *   is restored again. A partition lost in a rebalance is dropped and its producer closed.
 */
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../common/config.ts';
import { deadLetterMessage } from '../common/dead-letter.ts';
import { decodeOrSetAside } from '../common/decoding-consumer.ts';
import { chunkTopicMessages, ensureTopics, readPartitionsToEnd, routingPartitioner, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { partitionKeyOf } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { segmentKpiKey, segmentKpiRoute } from '../../schemas/processor-outputs.ts';
import { topicsFor, type Topics } from '../../schemas/topics.ts';
import { PartitionState, type EventOutcome } from './state/partition-state.ts';

export interface ProcessorDeps {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly config: Config;
  readonly logger: Logger;
}

interface OwnedPartition {
  readonly state: PartitionState;
  readonly producer: Producer;
}

export interface RunningProcessor {
  /** Resolves if the consumer stops for good on its own (see whenConsumerDies). */
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

const LATE_HEADERS = { reason: 'journeyline.late.reason', streamTime: 'journeyline.late.stream_time' } as const;
const LATE_REASONS: Readonly<Record<'too_late' | 'beyond_dedup_horizon', string>> = {
  too_late: 'window closed beyond the allowed lateness',
  beyond_dedup_horizon: "older than the customer's remembered event_ids (PROCESSOR_DEDUP_WINDOW_DAYS / _MAX_IDS): not counted, as a replay could not be recognised",
};

export const processorGroupOf = (config: Config) => `${config.topicPrefix}processor`;

export async function runProcessor({ kafka, registry, config, logger }: ProcessorDeps): Promise<RunningProcessor> {
  const topics: Topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = processorGroupOf(config);
  const decode = createJourneyEventDecoder(registry);
  const owned = new Map<number, Promise<OwnedPartition>>();

  const acquire = (partition: number): Promise<OwnedPartition> => {
    const existing = owned.get(partition);
    if (existing) return existing;
    const starting = (async () => {
      const producer = kafka.producer({
        transactionalId: `${groupId}.${partition}`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // murmur2 as every journeyline producer; KPI shares of one window go to one partition.
        createPartitioner: routingPartitioner({ [topics.segmentKpis.name]: segmentKpiRoute }),
      });
      await producer.connect(); // initProducerId: fences the previous owner of this transactional.id
      const state = new PartitionState(partition, config.processor);
      const began = performance.now();
      const records = await readPartitionsToEnd(kafka, topics.processorChangelog.name, [partition], (_p, key, value) => {
        state.restore(key, value === null ? null : value.toString());
      }, 120_000);
      logger.info({ event: 'processor.partition_restored', partition, records, customers: state.customerCount, ms: Math.round(performance.now() - began) });
      return { state, producer };
    })();
    owned.set(partition, starting);
    starting.catch(() => owned.delete(partition));
    return starting;
  };

  const release = async (partition: number) => {
    const taken = owned.get(partition);
    owned.delete(partition);
    if (taken) await (await taken.catch(() => undefined))?.producer.disconnect();
  };

  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: config.processor.maxBytesPerPartition,
    sessionTimeout: config.processor.sessionTimeoutMs,
    // An idle fetch waits this long; a stop waits for it, so keep it short.
    maxWaitTimeInMs: 1_000,
    heartbeatInterval: Math.min(3_000, Math.floor(config.processor.sessionTimeoutMs / 5)),
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = new Set(payload.memberAssignment[topics.events.name] ?? []);
    for (const partition of [...owned.keys()].filter((p) => !assigned.has(p))) {
      release(partition).catch((error: unknown) => {
        logger.warn({ event: 'processor.release_failed', partition, err: error });
      });
    }
    logger.info({ event: 'processor.assigned', partitions: [...assigned] });
  });
  const died = whenConsumerDies(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic: topics.events.name, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (batch.messages.length === 0 || payload.isStale()) return;
      const { partition } = batch;
      const { state, producer } = await acquire(partition);
      const late: Message[] = [];
      // failed.at is the record's own time, so a re-processed batch sets aside identical copies.
      const { decoded, poison } = await decodeOrSetAside(batch, decode, groupId);
      const deadLetters = poison.map((p) => p.deadLetter);
      for (const { message, value } of decoded) {
        let outcome: EventOutcome;
        try {
          outcome = state.apply(partitionKeyOf(value), value);
        } catch (error: unknown) {
          const reason = `processing failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
          logger.warn({ event: 'processor.event_failed', partition, offset: message.offset, reason });
          deadLetters.push(deadLetterMessage({ ...message, topic: batch.topic, partition }, { reason, stage: 'process', consumerGroup: groupId }));
          continue;
        }
        if (outcome === 'too_late' || outcome === 'beyond_dedup_horizon') {
          late.push({
            key: message.key,
            value: message.value,
            headers: { ...message.headers, [LATE_HEADERS.reason]: LATE_REASONS[outcome], [LATE_HEADERS.streamTime]: String(state.streamTimeMs ?? '') },
          });
        }
      }
      const flushed = state.flush();
      const json = (value: unknown) => JSON.stringify(value);
      const topicMessages: TopicMessages[] = [
        { topic: topics.stageTransitions.name, messages: flushed.transitions.map((t) => ({ key: t.customer_id, value: json(t) })) },
        { topic: topics.customerProfiles.name, messages: flushed.profiles.map((p) => ({ key: p.customer_id, value: json(p) })) },
        { topic: topics.segmentKpis.name, messages: flushed.windows.map((w) => ({ key: segmentKpiKey(w.segment, w.day, w.partition), value: json(w) })) },
        { topic: topics.processorChangelog.name, messages: flushed.changelog.map((r) => ({ key: r.key, value: r.value, partition })) },
        { topic: topics.lateEvents.name, messages: late },
        { topic: topics.deadLetter.name, messages: deadLetters },
      ].filter((t) => t.messages.length > 0);
      const last = batch.messages[batch.messages.length - 1];
      if (last === undefined) return;
      const next = (BigInt(last.offset) + 1n).toString();
      const tx = await producer.transaction();
      try {
        for (const chunk of chunkTopicMessages(topicMessages)) await tx.sendBatch({ topicMessages: chunk, acks: -1 });
        await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition, offset: next }] }] });
        await tx.commit();
      } catch (error: unknown) {
        await tx.abort().catch(() => undefined);
        await release(partition);
        logger.warn({ event: 'processor.transaction_failed', partition, err: error }, 'batch not committed; state will be restored');
        throw error;
      }
      payload.resolveOffset(last.offset);
      await payload.heartbeat();
      logger.debug({ event: 'processor.batch', partition, messages: batch.messages.length, counted: decoded.length, late: late.length, dead: deadLetters.length });
    },
  });

  return {
    died,
    stop: async () => {
      await consumer.disconnect();
      await Promise.allSettled([...owned.keys()].map(release));
    },
  };
}
