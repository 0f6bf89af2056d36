/**
 * The journey processor: a consumer group over the events topic that keeps each customer's stage,
 * profile and the daily KPI windows, exactly once.
 *
 * Contract:
 * - Every input partition has its own transactional producer (transactional.id =
 *   <group>.<partition>). Taking a partition starts that producer, which fences any earlier owner
 *   (a zombie, or this process before a SIGKILL) and aborts its open transaction; only then is the
 *   partition's state read back from the compacted changelog.
 * - One batch = one transaction: outputs (transitions, profiles, KPI window partials in Avro under
 *   their registered schemas, late and dead-letter copies), the changelog records of what changed, and the consumer offset. Readers
 *   of the outputs read committed, so a crash at any point leaves either all of a batch or none.
 * - Processing is deterministic in the order of the partition, so the batch re-read after a crash
 *   yields the same outputs as the one that was lost.
 * - An event the rules throw on (PartitionState.apply changes nothing before it could throw) goes
 *   to the dead-letter topic with the error as its reason, in the same transaction: one event
 *   never stalls its partition.
 * - If a batch fails after its first event was applied (an output that does not encode, a
 *   transaction Kafka refuses), the partition's in-memory state is discarded (it ran ahead of what
 *   was committed) and the error is rethrown: kafkajs re-reads from the committed offset and the state
 *   is restored again. A partition lost in a rebalance is dropped and its producer closed.
 */
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../common/config.ts';
import { deadLetterMessage } from '../common/dead-letter.ts';
import { decodeOrSetAside, type DecodedBatch } from '../common/decoding-consumer.ts';
import { commitBatch, ensureTopics, readPartitionsToEnd, routingPartitioner, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { registerTopicEncoders, type TopicEncoders } from '../common/record-codec.ts';
import { partitionKeyOf, type JourneyEvent } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { segmentKpiKey, segmentKpiRoute } from '../../schemas/processor-outputs.ts';
import { processorGroupName, topicsFor, type Topics } from '../../schemas/topics.ts';
import { PartitionState, type EventOutcome, type Flushed } from './state/partition-state.ts';

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
  beyond_dedup_horizon:
    "older than the customer's remembered event_ids (PROCESSOR_DEDUP_WINDOW_DAYS / _MAX_IDS): not counted, as a replay could not be recognised",
};

export const processorGroupOf = (config: Config) => processorGroupName(config.topicPrefix);

/**
 * The partitions this instance owns: each a transactional producer (transactional.id =
 * <group>.<partition>, whose start fences any earlier owner) and the state restored from the
 * partition's changelog after that fence.
 */
class OwnedPartitions {
  private readonly owned = new Map<number, Promise<OwnedPartition>>();
  private readonly deps: ProcessorDeps;
  private readonly topics: Topics;
  private readonly groupId: string;

  constructor(deps: ProcessorDeps, topics: Topics, groupId: string) {
    this.deps = deps;
    this.topics = topics;
    this.groupId = groupId;
  }

  get partitions(): number[] {
    return [...this.owned.keys()];
  }

  acquire(partition: number): Promise<OwnedPartition> {
    const existing = this.owned.get(partition);
    if (existing) return existing;
    const starting = this.take(partition);
    this.owned.set(partition, starting);
    starting.catch(() => this.owned.delete(partition));
    return starting;
  }

  async release(partition: number): Promise<void> {
    const taken = this.owned.get(partition);
    this.owned.delete(partition);
    if (taken) await (await taken.catch(() => undefined))?.producer.disconnect();
  }

  private async take(partition: number): Promise<OwnedPartition> {
    const { kafka, config, logger } = this.deps;
    const producer = kafka.producer({
      transactionalId: `${this.groupId}.${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 as every journeyline producer; KPI shares of one window go to one partition.
      createPartitioner: routingPartitioner({ [this.topics.segmentKpis.name]: segmentKpiRoute }),
    });
    await producer.connect(); // initProducerId: fences the previous owner of this transactional.id
    const state = new PartitionState(partition, config.processor);
    const began = performance.now();
    const records = await readPartitionsToEnd(
      kafka,
      this.topics.processorChangelog.name,
      [partition],
      (_p, key, value) => {
        state.restore(key, value);
      },
      120_000,
    );
    logger.info({
      event: 'processor.partition_restored',
      partition,
      records,
      customers: state.customerCount,
      ms: Math.round(performance.now() - began),
    });
    return { state, producer };
  }
}

interface Applied {
  /** Copies of the events past their window's lateness or the customer's dedup horizon. */
  readonly late: Message[];
  /** Dead-letter copies of the events the rules threw on. */
  readonly failed: Message[];
}

/** Applies a batch's decoded events to the partition state, in order; sets aside what does not count. */
function applyEvents(
  state: PartitionState,
  decoded: DecodedBatch<JourneyEvent>['decoded'],
  source: { topic: string; partition: number; groupId: string },
  logger: Logger,
): Applied {
  const late: Message[] = [];
  const failed: Message[] = [];
  for (const { message, value } of decoded) {
    let outcome: EventOutcome;
    try {
      outcome = state.apply(partitionKeyOf(value), value);
    } catch (error: unknown) {
      const reason = `processing failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      logger.warn({ event: 'processor.event_failed', partition: source.partition, offset: message.offset, reason });
      failed.push(
        deadLetterMessage(
          { ...message, topic: source.topic, partition: source.partition },
          { reason, stage: 'process', consumerGroup: source.groupId },
        ),
      );
      continue;
    }
    if (outcome === 'too_late' || outcome === 'beyond_dedup_horizon') {
      late.push({
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [LATE_HEADERS.reason]: LATE_REASONS[outcome],
          [LATE_HEADERS.streamTime]: String(state.streamTimeMs ?? ''),
        },
      });
    }
  }
  return { late, failed };
}

/** The topics the processor publishes its records to (Avro, schemas registered at start). */
export const PROCESSOR_OUTPUTS = ['stageTransitions', 'customerProfiles', 'customersAtRisk', 'segmentKpis'] as const;
export type ProcessorEncoders = TopicEncoders<(typeof PROCESSOR_OUTPUTS)[number]>;

/** What one batch publishes, per topic; the changelog records stay in the input's partition. */
export function batchOutputs(
  topics: Topics,
  encode: ProcessorEncoders,
  partition: number,
  flushed: Flushed,
  late: readonly Message[],
  deadLetters: readonly Message[],
): TopicMessages[] {
  return [
    {
      topic: topics.stageTransitions.name,
      messages: flushed.transitions.map((t) => ({ key: t.customer_id, value: encode.stageTransitions(t) })),
    },
    {
      topic: topics.customerProfiles.name,
      messages: flushed.profiles.map((p) => ({ key: p.customer_id, value: encode.customerProfiles(p) })),
    },
    { topic: topics.customersAtRisk.name, messages: flushed.atRisk.map((r) => ({ key: r.customer_id, value: encode.customersAtRisk(r) })) },
    {
      topic: topics.segmentKpis.name,
      messages: flushed.windows.map((w) => ({ key: segmentKpiKey(w.segment, w.day, w.partition), value: encode.segmentKpis(w) })),
    },
    { topic: topics.processorChangelog.name, messages: flushed.changelog.map((r) => ({ key: r.key, value: r.value, partition })) },
    { topic: topics.lateEvents.name, messages: [...late] },
    { topic: topics.deadLetter.name, messages: [...deadLetters] },
  ].filter((t) => t.messages.length > 0);
}

export async function runProcessor(deps: ProcessorDeps): Promise<RunningProcessor> {
  const { kafka, registry, config, logger } = deps;
  const topics: Topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = processorGroupOf(config);
  const decode = createJourneyEventDecoder(registry);
  const encode = await registerTopicEncoders(registry, topics, PROCESSOR_OUTPUTS);
  const faults = { failBatches: config.processor.faultFailBatches };
  const owned = new OwnedPartitions(deps, topics, groupId);

  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: config.processor.maxBytesPerPartition,
    sessionTimeout: config.processor.sessionTimeoutMs,
    // Fuller batches at live rates; a stop waits for an idle fetch too, so the wait stays short.
    minBytes: config.processor.minBytes,
    maxWaitTimeInMs: config.processor.maxWaitMs,
    heartbeatInterval: Math.min(3_000, Math.floor(config.processor.sessionTimeoutMs / 5)),
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = new Set(payload.memberAssignment[topics.events.name] ?? []);
    for (const partition of owned.partitions.filter((p) => !assigned.has(p))) {
      owned.release(partition).catch((error: unknown) => {
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
      const last = batch.messages.at(-1);
      if (last === undefined || payload.isStale()) return;
      const { partition } = batch;
      const { state, producer } = await owned.acquire(partition);
      const { decoded, poison } = await decodeOrSetAside(batch, decode, groupId);
      // From the first event applied to the commit: whatever fails (an output that does not encode
      // too), the state ran ahead of what was committed and is dropped, or the re-read batch would
      // find its events already counted and publish nothing for them.
      try {
        const { late, failed } = applyEvents(state, decoded, { topic: batch.topic, partition, groupId }, logger);
        const deadLetters = [...poison.map((p) => p.deadLetter), ...failed];
        const outputs = batchOutputs(topics, encode, partition, state.flush(), late, deadLetters);
        if (faults.failBatches > 0) {
          faults.failBatches--;
          throw new Error('fault injected (PROCESSOR_FAULT_FAIL_BATCHES): the batch failed after its events were applied');
        }
        await commitBatch(producer, groupId, { topic: batch.topic, partition, next: (BigInt(last.offset) + 1n).toString() }, outputs);
        logger.debug({
          event: 'processor.batch',
          partition,
          messages: batch.messages.length,
          counted: decoded.length,
          late: late.length,
          dead: deadLetters.length,
        });
      } catch (error: unknown) {
        await owned.release(partition);
        logger.warn({ event: 'processor.batch_failed', partition, err: error }, 'batch not committed; state will be restored');
        throw error;
      }
      payload.resolveOffset(last.offset);
      await payload.heartbeat();
    },
  });

  return {
    died,
    stop: async () => {
      await consumer.disconnect();
      await Promise.allSettled(owned.partitions.map((partition) => owned.release(partition)));
    },
  };
}
