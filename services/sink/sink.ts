/**
 * The sink: the events topic and the processor's outputs → ClickHouse, exactly once.
 *
 * Contract:
 * - One insert block = one fetched batch of one topic-partition, bounded by the fetch settings
 *   (SINK_BATCH_MAX_BYTES per partition; the broker waits for SINK_BATCH_MIN_BYTES or
 *   SINK_BATCH_MAX_WAIT_MS), so Kafka does the batching. Blocks of up to
 *   SINK_PARTITIONS_CONCURRENTLY partitions are written at once, each on an insert client of its
 *   own; a partition's blocks stay in order.
 * - Per block: commit the start position with the range as metadata (blocks.ts), insert into each
 *   table with a token derived from the range, then commit the end. Offsets only move after
 *   ClickHouse acknowledged; a crash anywhere replays the same range with the same token.
 * - Retryable ClickHouse errors (retry.ts) are retried with backoff while every topic is paused,
 *   so nothing piles up and nothing is lost while ClickHouse is down; other errors stop the sink.
 * - Records that do not decode (Avro through the registry) or validate go to the dead-letter topic
 *   with the reason.
 * - The derived topics are read read_committed: aborted processor transactions never land.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { insertClientsFor, insertRows, type ClickHouseClient } from '../common/clickhouse.ts';
import type { Config } from '../common/config.ts';
import { decodeOrSetAside, type DecodeResult } from '../common/decoding-consumer.ts';
import { recordDecoder } from '../common/record-codec.ts';
import { createIdempotentProducer, ensureTopics, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { isRetryableClickHouseError, retryWithBackoff } from '../common/retry.ts';
import { Pool } from '../common/pool.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { segmentKpiKey, type CustomerProfileRecord, type SegmentKpiPartial } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS, type TopicRecord } from '../../schemas/topic-records.ts';
import { topicsFor, type TopicSpec, type Topics } from '../../schemas/topics.ts';
import { deduplicationToken, intentMetadata, parseIntent, planBlock, type BlockRange } from './blocks.ts';
import {
  alertActionRow,
  alertRow,
  atRiskRow,
  lastPerKey,
  eventRow,
  partialRow,
  profileRow,
  stageRow,
  transitionRow,
  identityLinkRow,
  type KafkaPosition,
  type Row,
} from './rows.ts';

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
  /** For a topic whose tables keep the latest row per key: the key (a block inserts only its last record per key). */
  readonly latestBy?: ((value: never) => string) | undefined;
}

export const sinkGroupOf = (config: Config) => `${config.topicPrefix}sink`;

/** There are as many insert clients as partitions written at once, so a wait means a bug: say so loudly. */
const INSERTER_WAIT_MS = 60_000;

interface PartitionProgress {
  position: bigint | null;
  intent: BlockRange | null;
  /** Records of a replayed block fetched so far, while later fetches bring the rest of its range. */
  buffered: KafkaMessage[];
  /** A commit made outside eachBatch (past transaction markers) that the next block must follow. */
  committing: Promise<void>;
}

const noProgressYet = (): PartitionProgress => ({ position: null, intent: null, buffered: [], committing: Promise.resolve() });

/**
 * What the sink writes, topic by topic: the record each carries (the events, or one of
 * journeyline's own records) and the tables it lands in. The one list of the sink's topics.
 */
interface SinkRoute extends Pick<Route, 'tables' | 'latestBy'> {
  readonly topic: TopicSpec;
  readonly record: 'event' | TopicRecord<unknown>;
}

const sinkRoutes = (topics: Topics): readonly SinkRoute[] => [
  { topic: topics.events, record: 'event', tables: [{ table: 'journey.events', row: eventRow }] },
  {
    topic: topics.stageTransitions,
    record: TOPIC_RECORDS.stageTransitions,
    tables: [{ table: 'journey.stage_transitions', row: transitionRow }],
  },
  {
    topic: topics.customerProfiles,
    record: TOPIC_RECORDS.customerProfiles,
    tables: [
      { table: 'journey.customer_profiles', row: profileRow },
      { table: 'journey.customer_stages', row: stageRow },
    ],
    // ReplacingMergeTree by customer: a busy customer's profiles within one block are one row.
    latestBy: (p: CustomerProfileRecord) => p.customer_id,
  },
  {
    topic: topics.segmentKpis,
    record: TOPIC_RECORDS.segmentKpis,
    tables: [{ table: 'journey.segment_kpi_partials', row: partialRow }],
    // ReplacingMergeTree by (segment, day, partition): every processor batch revises the same
    // windows (and the rolling days ahead), so a block holds many revisions of each; only the last counts.
    latestBy: (w: SegmentKpiPartial) => segmentKpiKey(w.segment, w.day, w.partition),
  },
  {
    topic: topics.customersAtRisk,
    record: TOPIC_RECORDS.customersAtRisk,
    tables: [{ table: 'journey.customers_at_risk', row: atRiskRow }],
  },
  { topic: topics.alerts, record: TOPIC_RECORDS.alerts, tables: [{ table: 'journey.alerts', row: alertRow }] },
  {
    topic: topics.identityLinks,
    record: TOPIC_RECORDS.identityLinks,
    tables: [{ table: 'journey.identity_links', row: identityLinkRow }],
  },
  { topic: topics.alertActions, record: TOPIC_RECORDS.alertActions, tables: [{ table: 'journey.alert_actions', row: alertActionRow }] },
];

/** The topics the sink writes to ClickHouse. */
export const sinkTopicsOf = (topics: Topics): string[] => sinkRoutes(topics).map((route) => route.topic.name);

function routesFor(topics: Topics, registry: SchemaRegistry): Map<string, Route> {
  const decodeEvent = createJourneyEventDecoder(registry);
  return new Map(
    sinkRoutes(topics).map(({ topic, record, tables, latestBy }) => [
      topic.name,
      { decode: record === 'event' ? (m) => decodeEvent(m) : recordDecoder(registry, record), tables, latestBy },
    ]),
  );
}

/**
 * Where each topic-partition stands: its committed position and pending intent, read from the
 * group's offsets the first time it is seen after a rebalance (another member may have moved them).
 */
class ProgressBook {
  private readonly known = new Map<string, PartitionProgress>();
  private readonly admin: Admin;
  private readonly groupId: string;

  constructor(admin: Admin, groupId: string) {
    this.admin = admin;
    this.groupId = groupId;
  }

  forget(): void {
    this.known.clear();
  }

  async of(topic: string, partition: number): Promise<PartitionProgress> {
    const key = `${topic}:${partition}`;
    let known = this.known.get(key);
    if (known === undefined) {
      const [committed] = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      const entry = committed?.partitions.find((p) => p.partition === partition);
      const offset = entry === undefined ? -1n : BigInt(entry.offset);
      known = { ...noProgressYet(), position: offset < 0n ? null : offset, intent: parseIntent(entry?.metadata) };
      this.known.set(key, known);
    }
    return known;
  }

  /** The progress of a partition seen in a fetch of transaction markers only; created if new. */
  seen(topic: string, partition: number): PartitionProgress {
    const key = `${topic}:${partition}`;
    const known = this.known.get(key) ?? noProgressYet();
    this.known.set(key, known);
    return known;
  }
}

/** What the steps of one running sink share. */
interface SinkContext {
  readonly consumer: Consumer;
  /** One client per block being written (insertClientsFor): as many as partitions written at once. */
  readonly inserters: Pool<ClickHouseClient>;
  /** Blocks waiting out a ClickHouse outage: the consumer stays paused until none is. */
  retrying: number;
  readonly deadLetters: Producer;
  readonly routes: ReadonlyMap<string, Route>;
  readonly progress: ProgressBook;
  readonly topics: Topics;
  readonly groupId: string;
  readonly clusterId: string;
  readonly config: Config;
  readonly logger: Logger;
  inserts: number;
}

/**
 * A fetch of transaction markers only (the processor's topics end with one) never reaches
 * eachBatch; committing past it keeps the group's lag at zero when all is written.
 */
function commitPastMarkers(ctx: SinkContext, topic: string, partition: number, lastOffset: string): void {
  const next = BigInt(lastOffset) + 1n;
  const known = ctx.progress.seen(topic, partition);
  if (known.intent !== null || (known.position !== null && known.position >= next)) return;
  known.position = next;
  known.committing = known.committing
    .then(() => ctx.consumer.commitOffsets([{ topic, partition, offset: String(next), metadata: null }]))
    .catch((error: unknown) => {
      ctx.logger.warn({ event: 'sink.marker_commit_failed', topic, partition, err: error });
    });
}

/** One table's insert, retried with backoff while ClickHouse is unavailable, every topic paused meanwhile. */
async function insertWithRetry(
  ctx: SinkContext,
  payload: EachBatchPayload,
  insert: { clickhouse: ClickHouseClient; table: string; rows: Row[]; token: string },
): Promise<void> {
  const { clickhouse, table, rows, token } = insert;
  const everyTopic = [...ctx.routes.keys()].map((topic) => ({ topic }));
  // An object, not a let: TypeScript does not follow the callback's assignment.
  const waiting = { out: false };
  try {
    await retryWithBackoff(() => insertRows(clickhouse, table, rows, token), {
      isRetryable: isRetryableClickHouseError,
      maxBackoffMs: ctx.config.sink.maxBackoffMs,
      onRetry: (error, attempt, backoffMs) => {
        if (!waiting.out && ctx.retrying++ === 0) ctx.consumer.pause(everyTopic);
        waiting.out = true;
        ctx.logger.warn({ event: 'sink.insert_retry', table, attempt, backoffMs, err: error }, 'ClickHouse unavailable; consumer paused');
      },
      whileWaiting: async () => {
        if (!payload.isRunning() || payload.isStale()) throw new Error('sink stopping or partition revoked during a retry');
        await payload.heartbeat();
      },
    });
  } finally {
    if (waiting.out && --ctx.retrying === 0) {
      ctx.consumer.resume(everyTopic);
      ctx.logger.info({ event: 'sink.resumed', table }, 'ClickHouse back; consumer resumed');
    }
  }
}

/** Intent, inserts with the range's token, commit: one block, exactly once (see blocks.ts). */
async function writeBlock(
  ctx: SinkContext,
  payload: EachBatchPayload,
  block: { route: Route; topic: string; partition: number; range: BlockRange; replay: boolean; messages: readonly KafkaMessage[] },
): Promise<void> {
  const { route, topic, partition, range, replay, messages } = block;
  if (!replay) await ctx.consumer.commitOffsets([{ topic, partition, offset: String(range.from), metadata: intentMetadata(range) }]);
  const rows = new Map<string, Row[]>(route.tables.map((t) => [t.table, []]));
  const { decoded, poison } = await decodeOrSetAside({ topic, partition, messages }, route.decode, ctx.groupId);
  const { latestBy } = route;
  const kept = latestBy === undefined ? decoded : lastPerKey(decoded, ({ value }) => latestBy(value as never));
  for (const { message, value } of kept) {
    const at: KafkaPosition = { partition, offset: message.offset, timestamp: message.timestamp };
    for (const { table, row } of route.tables) rows.get(table)?.push(row(value as never, at));
  }
  if (poison.length > 0)
    await ctx.deadLetters.send({ topic: ctx.topics.deadLetter.name, messages: poison.map((p) => p.deadLetter), acks: -1 });
  const token = deduplicationToken(ctx.clusterId, topic, partition, range);
  await ctx.inserters.with(INSERTER_WAIT_MS, async (clickhouse) => {
    for (const [table, tableRows] of rows) await insertWithRetry(ctx, payload, { clickhouse, table, rows: tableRows, token });
  });

  const { faultKillAfterInserts, faultKillTopic } = ctx.config.sink;
  if (faultKillTopic === undefined || faultKillTopic === topic) ctx.inserts++;
  if (faultKillAfterInserts > 0 && ctx.inserts >= faultKillAfterInserts) {
    ctx.logger.warn(
      { event: 'sink.fault_injected', topic, partition, from: String(range.from), to: String(range.to) },
      'SIGKILL between insert and offset commit',
    );
    process.kill(process.pid, 'SIGKILL');
  }
  await ctx.consumer.commitOffsets([{ topic, partition, offset: String(range.to + 1n), metadata: null }]);
  ctx.logger.debug({
    event: 'sink.block',
    topic,
    partition,
    from: String(range.from),
    to: String(range.to),
    replay,
    rows: [...rows.values()].reduce((n, r) => n + r.length, 0),
    dead: poison.length,
  });
}

/**
 * One fetch of one topic-partition: usually one block; two when a replayed block ends inside this
 * fetch and the rest of it follows. Nothing is left for a refetch to bring back.
 */
async function writeFetch(ctx: SinkContext, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const route = ctx.routes.get(batch.topic);
  if (batch.messages.length === 0 || route === undefined || payload.isStale()) return;
  const { partition, topic } = batch;
  const known = await ctx.progress.of(topic, partition);
  await known.committing;
  // lastOffset() counts the transaction markers and aborted records the fetch held after the
  // last message, so the blocks (and the commits) cover them too.
  const lastOffset = BigInt(batch.lastOffset());
  let messages = [...known.buffered, ...batch.messages];
  for (;;) {
    const first = messages[0];
    if (first === undefined) {
      // Only transaction markers or aborted records after the last block: no rows, move past them.
      const next = lastOffset + 1n;
      if (known.position === null || known.position < next)
        await ctx.consumer.commitOffsets([{ topic, partition, offset: String(next), metadata: null }]);
      known.position = next;
      break;
    }
    const plan = planBlock(known.position, BigInt(first.offset), lastOffset, known.intent);
    if (plan.kind === 'wait_for_rest') {
      // Fetches now smaller than the block in flight: keep what came and read on to its end.
      known.buffered = messages;
      ctx.logger.debug({
        event: 'sink.replay_collects',
        topic,
        partition,
        from: String(plan.range.from),
        to: String(plan.range.to),
        have: messages.length,
      });
      break;
    }
    const { range } = plan;
    await writeBlock(ctx, payload, {
      route,
      topic,
      partition,
      range,
      replay: plan.replay,
      messages: messages.filter((m) => BigInt(m.offset) <= range.to),
    });
    known.position = range.to + 1n;
    known.intent = null;
    known.buffered = [];
    if (range.to >= lastOffset) break;
    messages = messages.filter((m) => BigInt(m.offset) > range.to);
  }
  payload.resolveOffset(String(lastOffset));
  await payload.heartbeat();
}

export async function runSink({ kafka, registry, clickhouse, config, logger }: SinkDeps): Promise<RunningSink> {
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = sinkGroupOf(config);
  const routes = routesFor(topics, registry);
  const admin = kafka.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster();
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
  const inserters = insertClientsFor(config.clickhouse, clickhouse, config.sink.partitionsConcurrently);
  const ctx: SinkContext = {
    consumer,
    inserters: new Pool(inserters.clients, (waitedMs) => new Error(`no sink insert client came free in ${waitedMs} ms`)),
    retrying: 0,
    deadLetters,
    routes,
    progress: new ProgressBook(admin, groupId),
    topics,
    groupId,
    clusterId,
    config,
    logger,
    inserts: 0,
  };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    ctx.progress.forget();
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) commitPastMarkers(ctx, payload.topic, payload.partition, payload.lastOffset);
  });
  const died = whenConsumerDies(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics: sinkTopicsOf(topics), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.sink.partitionsConcurrently,
    eachBatch: (payload) => writeFetch(ctx, payload),
  });

  return {
    died,
    stop: async () => {
      await consumer.disconnect();
      await Promise.allSettled([deadLetters.disconnect(), admin.disconnect(), inserters.close()]);
    },
  };
}
