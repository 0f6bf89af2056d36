/**
 * The sink: the events topic and the processor's outputs → ClickHouse, exactly once.
 *
 * Contract:
 * - One insert block = one fetched batch of one topic-partition, bounded by the fetch settings
 *   (SINK_BATCH_MAX_BYTES per partition; the broker waits for SINK_BATCH_MIN_BYTES or
 *   SINK_BATCH_MAX_WAIT_MS), so Kafka does the batching.
 * - Per block: commit the start position with the range as metadata (blocks.ts), insert into each
 *   table with a token derived from the range, then commit the end. Offsets only move after
 *   ClickHouse acknowledged; a crash anywhere replays the same range with the same token.
 * - Retryable ClickHouse errors (retry.ts) are retried with backoff while every topic is paused,
 *   so nothing piles up and nothing is lost while ClickHouse is down; other errors stop the sink.
 * - Records that do not decode or validate go to the dead-letter topic with the reason.
 * - The derived topics are read read_committed: aborted processor transactions never land.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { z } from 'zod';
import { insertRows, type ClickHouseClient } from '../common/clickhouse.ts';
import type { Config } from '../common/config.ts';
import { decodeOrSetAside, type DecodeResult } from '../common/decoding-consumer.ts';
import { createIdempotentProducer, ensureTopics, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { isRetryableClickHouseError, retryWithBackoff } from '../common/retry.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { customerProfileRecord, segmentKpiPartial, stageTransitionRecord } from '../../schemas/processor-outputs.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { deduplicationToken, intentMetadata, parseIntent, planBlock, type BlockRange } from './blocks.ts';
import { eventRow, partialRow, profileRow, stageRow, transitionRow, type KafkaPosition, type Row } from './rows.ts';

export interface SinkDeps {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly clickhouse: ClickHouseClient;
  readonly config: Config;
  readonly logger: Logger;
}

export interface RunningSink {
  /** Resolves if the consumer stops for good on its own (see whenConsumerDies). */
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

/** How one topic's records become rows: the decoder, and per table the row builder. */
interface Route {
  readonly decode: (message: KafkaMessage) => Promise<DecodeResult<unknown>>;
  readonly tables: readonly { readonly table: string; readonly row: (value: never, at: KafkaPosition) => Row }[];
}

export const sinkGroupOf = (config: Config) => `${config.topicPrefix}sink`;

function jsonDecoder<T>(schema: z.ZodType<T>): Route['decode'] {
  return (message) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.value?.toString('utf8') ?? '');
    } catch (error: unknown) {
      return Promise.resolve({ ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}`, stage: 'decode' });
    }
    const checked = schema.safeParse(parsed);
    if (checked.success) return Promise.resolve({ ok: true, value: checked.data });
    const reason = checked.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
    return Promise.resolve({ ok: false, reason, stage: 'validate' });
  };
}

interface PartitionProgress {
  position: bigint | null;
  intent: BlockRange | null;
  /** Records of a replayed block fetched so far, while later fetches bring the rest of its range. */
  buffered: KafkaMessage[];
  /** A commit made outside eachBatch (past transaction markers) that the next block must follow. */
  committing: Promise<void>;
}

const noProgressYet = (): PartitionProgress => ({ position: null, intent: null, buffered: [], committing: Promise.resolve() });

export async function runSink({ kafka, registry, clickhouse, config, logger }: SinkDeps): Promise<RunningSink> {
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = sinkGroupOf(config);
  const decodeEvent = createJourneyEventDecoder(registry);
  const routes = new Map<string, Route>([
    [topics.events.name, { decode: (m) => decodeEvent(m), tables: [{ table: 'journey.events', row: eventRow }] }],
    [topics.stageTransitions.name, { decode: jsonDecoder(stageTransitionRecord), tables: [{ table: 'journey.stage_transitions', row: transitionRow }] }],
    [
      topics.customerProfiles.name,
      {
        decode: jsonDecoder(customerProfileRecord),
        tables: [
          { table: 'journey.customer_profiles', row: profileRow },
          { table: 'journey.customer_stages', row: stageRow },
        ],
      },
    ],
    [topics.segmentKpis.name, { decode: jsonDecoder(segmentKpiPartial), tables: [{ table: 'journey.segment_kpi_partials', row: partialRow }] }],
  ]);

  const admin = kafka.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster();
  const progress = new Map<string, PartitionProgress>();
  const progressOf = async (topic: string, partition: number): Promise<PartitionProgress> => {
    const key = `${topic}:${partition}`;
    let known = progress.get(key);
    if (known === undefined) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const entry = committed?.partitions.find((p) => p.partition === partition);
      const offset = entry === undefined ? -1n : BigInt(entry.offset);
      known = { ...noProgressYet(), position: offset < 0n ? null : offset, intent: parseIntent(entry?.metadata) };
      progress.set(key, known);
    }
    return known;
  };

  const deadLetters: Producer = createIdempotentProducer(kafka);
  await deadLetters.connect();
  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    minBytes: config.sink.minBytes,
    maxWaitTimeInMs: config.sink.maxWaitMs,
    maxBytesPerPartition: config.sink.maxBytesPerPartition,
    maxBytes: Math.max(config.sink.maxBytesPerPartition * 4, 10 * 1024 * 1024),
  });
  // Positions and intents are re-read after every rebalance: another member may have moved them.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    progress.clear();
  });
  // A fetch that holds only transaction markers (the processor's topics end with one) never
  // reaches eachBatch; committing past it keeps the group's lag at zero when all is written.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize !== 0) return;
    const { topic, partition } = payload;
    const key = `${topic}:${partition}`;
    const next = BigInt(payload.lastOffset) + 1n;
    const known = progress.get(key) ?? noProgressYet();
    if (known.intent !== null || (known.position !== null && known.position >= next)) return;
    progress.set(key, known);
    known.position = next;
    known.committing = known.committing
      .then(() => consumer.commitOffsets([{ topic, partition, offset: String(next), metadata: null }]))
      .catch((error: unknown) => {
        logger.warn({ event: 'sink.marker_commit_failed', topic, partition, err: error });
      });
  });
  const died = whenConsumerDies(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics: [...routes.keys()], fromBeginning: true });

  let inserts = 0;
  const insertWithRetry = async (payload: EachBatchPayload, table: string, rows: Row[], token: string) => {
    const pause = { on: false };
    await retryWithBackoff(() => insertRows(clickhouse, table, rows, token), {
      isRetryable: isRetryableClickHouseError,
      maxBackoffMs: config.sink.maxBackoffMs,
      onRetry: (error, attempt, backoffMs) => {
        if (!pause.on) consumer.pause([...routes.keys()].map((topic) => ({ topic })));
        pause.on = true;
        logger.warn({ event: 'sink.insert_retry', table, attempt, backoffMs, err: error }, 'ClickHouse unavailable; consumer paused');
      },
      whileWaiting: async () => {
        if (!payload.isRunning() || payload.isStale()) throw new Error('sink stopping or partition revoked during a retry');
        await payload.heartbeat();
      },
    });
    if (pause.on) {
      consumer.resume([...routes.keys()].map((topic) => ({ topic })));
      logger.info({ event: 'sink.resumed', table }, 'ClickHouse back; consumer resumed');
    }
  };

  /** Intent, inserts with the range's token, commit: one block, exactly once (see blocks.ts). */
  const writeBlock = async (payload: EachBatchPayload, route: Route, topic: string, partition: number, range: BlockRange, replay: boolean, messages: readonly KafkaMessage[]) => {
    if (!replay) await consumer.commitOffsets([{ topic, partition, offset: String(range.from), metadata: intentMetadata(range) }]);
    const rows = new Map<string, Row[]>(route.tables.map((t) => [t.table, []]));
    const { decoded, poison } = await decodeOrSetAside({ topic, partition, messages }, route.decode, groupId);
    for (const { message, value } of decoded) {
      const at: KafkaPosition = { partition, offset: message.offset, timestamp: message.timestamp };
      for (const { table, row } of route.tables) rows.get(table)?.push(row(value as never, at));
    }
    if (poison.length > 0) await deadLetters.send({ topic: topics.deadLetter.name, messages: poison.map((p) => p.deadLetter), acks: -1 });
    const token = deduplicationToken(clusterId, topic, partition, range);
    for (const [table, tableRows] of rows) await insertWithRetry(payload, table, tableRows, token);

    inserts++;
    if (config.sink.faultKillAfterInserts > 0 && inserts >= config.sink.faultKillAfterInserts) {
      logger.warn({ event: 'sink.fault_injected', topic, partition, from: String(range.from), to: String(range.to) }, 'SIGKILL between insert and offset commit');
      process.kill(process.pid, 'SIGKILL');
    }
    await consumer.commitOffsets([{ topic, partition, offset: String(range.to + 1n), metadata: null }]);
    logger.debug({ event: 'sink.block', topic, partition, from: String(range.from), to: String(range.to), replay, rows: [...rows.values()].reduce((n, r) => n + r.length, 0), dead: poison.length });
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const route = routes.get(batch.topic);
      if (batch.messages.length === 0 || route === undefined || payload.isStale()) return;
      const { partition, topic } = batch;
      const known = await progressOf(topic, partition);
      await known.committing;
      // lastOffset() counts the transaction markers and aborted records the fetch held after the
      // last message, so the blocks (and the commits) cover them too.
      const lastOffset = BigInt(batch.lastOffset());
      let messages = [...known.buffered, ...batch.messages];
      // Usually one block; two when a replayed block ends inside this fetch and the rest of it
      // follows. Nothing is left for a refetch to bring back.
      for (;;) {
        const first = messages[0];
        if (first === undefined) {
          // Only transaction markers or aborted records after the last block: no rows, move past them.
          const next = lastOffset + 1n;
          if (known.position === null || known.position < next) await consumer.commitOffsets([{ topic, partition, offset: String(next), metadata: null }]);
          known.position = next;
          break;
        }
        const plan = planBlock(known.position, BigInt(first.offset), lastOffset, known.intent);
        if (plan.kind === 'wait_for_rest') {
          // Fetches now smaller than the block in flight: keep what came and read on to its end.
          known.buffered = messages;
          logger.debug({ event: 'sink.replay_collects', topic, partition, from: String(plan.range.from), to: String(plan.range.to), have: messages.length });
          break;
        }
        const { range } = plan;
        await writeBlock(payload, route, topic, partition, range, plan.replay, messages.filter((m) => BigInt(m.offset) <= range.to));
        known.position = range.to + 1n;
        known.intent = null;
        known.buffered = [];
        if (range.to >= lastOffset) break;
        messages = messages.filter((m) => BigInt(m.offset) > range.to);
      }
      payload.resolveOffset(String(lastOffset));
      await payload.heartbeat();
    },
  });

  return {
    died,
    stop: async () => {
      await consumer.disconnect();
      await Promise.allSettled([deadLetters.disconnect(), admin.disconnect()]);
    },
  };
}
