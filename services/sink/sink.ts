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
import type { KafkaMessage } from 'kafkajs';
import { AtLeastOnce } from '../common/at-least-once.ts';
import { insertClientsFor, insertRows, type ClickHouseClient } from '../common/clickhouse.ts';
import type { Config } from '../common/config.ts';
import { ensureTopics } from '../common/kafka.ts';
import { RenewingProducer, type SendingProducer } from '../common/renewing-producer.ts';
import type { Logger } from '../common/logger.ts';
import { isRetryableClickHouseError, retryWithBackoff } from '../common/retry.ts';
import { Pool } from '../common/pool.ts';
import type { RunningService, ServiceDeps } from '../common/running-service.ts';
import { deadLetter, type Decoded } from '../common/step-result.ts';
import {
  StreamRunner,
  type BatchControl,
  type StepOutcome,
  type StreamBatch,
  type StreamConsumer,
  type StreamStep,
} from '../common/stream-runner.ts';
import { topicsFor, type Topics } from '../../schemas/topics.ts';
import { deduplicationToken, intentMetadata, planBlock, type BlockRange } from './blocks.ts';
import { ProgressBook, type Fetched } from './progress.ts';
import { routesFor, sinkTopicsOf, type Route } from './routes.ts';

export { sinkTopicsOf };
import { lastPerKey, type KafkaPosition, type Row } from './rows.ts';

/** A block of one topic-partition, inserted and not yet committed past. */
export interface InsertedBlock {
  readonly topic: string;
  readonly partition: number;
  readonly range: BlockRange;
}

export interface SinkDeps extends ServiceDeps {
  readonly clickhouse: ClickHouseClient;
  /** Told of each block between its inserts and its commit: a test's crash goes here. */
  readonly inserted?: (block: InsertedBlock) => void;
}

export const sinkGroupOf = (config: Config) => `${config.topicPrefix}sink`;

/** There are as many insert clients as partitions written at once, so a wait means a bug: say so loudly. */
const INSERTER_WAIT_MS = 60_000;

/** What the steps of one running sink share. */
interface SinkContext {
  /** Commits the sink's own positions, and pauses every topic while ClickHouse is away. */
  readonly runner: Pick<StreamRunner<unknown, undefined>, 'commitOffset' | 'pause' | 'resume'>;
  /** One client per block being written (insertClientsFor): as many as partitions written at once. */
  readonly inserters: Pool<ClickHouseClient>;
  readonly routes: ReadonlyMap<string, Route>;
  readonly progress: ProgressBook;
  readonly clusterId: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly inserted: ((block: InsertedBlock) => void) | undefined;
}

/**
 * A fetch of transaction markers only (the processor's topics end with one) never reaches
 * eachBatch; committing past it keeps the group's lag at zero when all is written.
 */
function commitPastMarkers(ctx: SinkContext, topic: string, partition: number, next: bigint): void {
  const known = ctx.progress.seen(topic, partition);
  if (known.intent !== null || (known.position !== null && known.position >= next)) return;
  known.position = next;
  known.committing = known.committing
    .then(() => ctx.runner.commitOffset(topic, partition, next))
    .catch((error: unknown) => {
      ctx.logger.warn({ event: 'sink.marker_commit_failed', topic, partition, err: error });
    });
}

/** One table's insert, retried with backoff while ClickHouse is unavailable, every topic paused meanwhile. */
async function insertWithRetry(
  ctx: SinkContext,
  control: BatchControl,
  insert: { clickhouse: ClickHouseClient; table: string; rows: Row[]; token: string },
): Promise<void> {
  const { clickhouse, table, rows, token } = insert;
  // An object, not a let: TypeScript does not follow the callback's assignment.
  const waiting = { out: false };
  try {
    await retryWithBackoff(() => insertRows(clickhouse, table, rows, token), {
      isRetryable: isRetryableClickHouseError,
      maxBackoffMs: ctx.config.sink.maxBackoffMs,
      onRetry: (error, attempt, backoffMs) => {
        if (!waiting.out) ctx.runner.pause();
        waiting.out = true;
        ctx.logger.warn({ event: 'sink.insert_retry', table, attempt, backoffMs, err: error }, 'ClickHouse unavailable; consumer paused');
      },
      whileWaiting: async () => {
        if (!control.isRunning() || control.isStale()) throw new Error('sink stopping or partition revoked during a retry');
        await control.heartbeat();
      },
    });
  } finally {
    if (waiting.out) {
      ctx.runner.resume();
      ctx.logger.info({ event: 'sink.resumed', table }, 'ClickHouse back; consumer resumed');
    }
  }
}

/** Intent, inserts with the range's token, commit: one block, exactly once (see blocks.ts). */
async function writeBlock(
  ctx: SinkContext,
  control: BatchControl,
  block: { route: Route; topic: string; partition: number; range: BlockRange; replay: boolean; fetched: readonly Fetched[] },
): Promise<void> {
  const { route, topic, partition, range, replay, fetched } = block;
  if (!replay) await ctx.runner.commitOffset(topic, partition, range.from, intentMetadata(range));
  const rows = new Map<string, Row[]>(route.tables.map((t) => [t.table, []]));
  const decoded = fetched.filter((f) => f.value !== undefined);
  const { latestBy } = route;
  const kept = latestBy === undefined ? decoded : lastPerKey(decoded, ({ value }) => latestBy(value as never));
  for (const { message, value } of kept) {
    const at: KafkaPosition = { partition, offset: message.offset, timestamp: message.timestamp };
    for (const { table, row } of route.tables) rows.get(table)?.push(row(value as never, at));
  }
  const token = deduplicationToken(ctx.clusterId, topic, partition, range);
  await ctx.inserters.with(INSERTER_WAIT_MS, async (clickhouse) => {
    for (const [table, tableRows] of rows) await insertWithRetry(ctx, control, { clickhouse, table, rows: tableRows, token });
  });
  ctx.inserted?.({ topic, partition, range });
  await ctx.runner.commitOffset(topic, partition, range.to + 1n);
  ctx.logger.debug({
    event: 'sink.block',
    topic,
    partition,
    from: String(range.from),
    to: String(range.to),
    replay,
    rows: [...rows.values()].reduce((n, r) => n + r.length, 0),
    dead: fetched.length - decoded.length,
  });
}

/** The sink as a stream step: each fetch written as blocks (writeFetch), its own positions committed through its runner. */
class Sink implements StreamStep<unknown, undefined> {
  readonly name = 'sink';
  readonly runner: StreamRunner<unknown, undefined>;
  private readonly context: SinkContext;
  private readonly close: () => Promise<void>;

  constructor(
    parts: Omit<SinkContext, 'runner'> & {
      readonly consumer: StreamConsumer;
      readonly topics: Topics;
      readonly groupId: string;
      readonly deadLetters: SendingProducer;
      /** Closes the clients the sink was given, once the consumer has left. */
      readonly close: () => Promise<void>;
    },
  ) {
    const { consumer, topics, groupId, deadLetters, close, ...context } = parts;
    this.close = close;
    this.runner = new StreamRunner({
      consumer,
      topics: sinkTopicsOf(topics),
      groupId,
      deadLetterTopic: topics.deadLetter.name,
      step: this,
      // Positions are the blocks' (intent, then end), committed by writeBlock.
      delivery: new AtLeastOnce(deadLetters, 'by-step'),
      logger: context.logger,
      outageToleranceMs: context.config.kafka.outageToleranceMs,
      partitionsConsumedConcurrently: context.config.sink.partitionsConcurrently,
    });
    this.context = { ...context, runner: this.runner };
  }

  decode(message: KafkaMessage, topic: string): Promise<Decoded<unknown>> {
    return this.context.routes.get(topic)?.decode(message) ?? Promise.resolve(deadLetter(`the sink has no route for ${topic}`, 'decode'));
  }

  async process(batch: StreamBatch<unknown>, _none: undefined, control: BatchControl): Promise<StepOutcome> {
    await writeFetch(this.context, batch, control);
    return { outputs: [] };
  }

  assigned(): void {
    this.context.progress.forget();
  }

  markersOnly(topic: string, partition: number, next: bigint): void {
    commitPastMarkers(this.context, topic, partition, next);
  }

  stopped(): Promise<void> {
    return this.close();
  }
}

/**
 * One fetch of one topic-partition: usually one block; two when a replayed block ends inside this
 * fetch and the rest of it follows. Nothing is left for a refetch to bring back.
 */
async function writeFetch(ctx: SinkContext, batch: StreamBatch<unknown>, control: BatchControl): Promise<void> {
  const route = ctx.routes.get(batch.topic);
  if (route === undefined) return;
  const { partition, topic } = batch;
  const known = await ctx.progress.of(topic, partition);
  await known.committing;
  // batch.next counts the transaction markers and aborted records the fetch held after the last
  // message, so the blocks (and the commits) cover them too.
  const lastOffset = batch.next - 1n;
  const values = new Map(batch.decoded.map(({ message, value }) => [message, value]));
  let fetched: Fetched[] = [...known.buffered, ...batch.messages.map((message) => ({ message, value: values.get(message) }))];
  for (;;) {
    const first = fetched[0];
    if (first === undefined) {
      // Only transaction markers or aborted records after the last block: no rows, move past them.
      if (known.position === null || known.position < batch.next) await ctx.runner.commitOffset(topic, partition, batch.next);
      known.position = batch.next;
      break;
    }
    const plan = planBlock(known.position, BigInt(first.message.offset), lastOffset, known.intent);
    if (plan.kind === 'wait_for_rest') {
      // Fetches now smaller than the block in flight: keep what came and read on to its end.
      known.buffered = fetched;
      ctx.logger.debug({
        event: 'sink.replay_collects',
        topic,
        partition,
        from: String(plan.range.from),
        to: String(plan.range.to),
        have: fetched.length,
      });
      break;
    }
    const { range } = plan;
    await writeBlock(ctx, control, {
      route,
      topic,
      partition,
      range,
      replay: plan.replay,
      fetched: fetched.filter((f) => BigInt(f.message.offset) <= range.to),
    });
    known.position = range.to + 1n;
    known.intent = null;
    known.buffered = [];
    if (range.to >= lastOffset) break;
    fetched = fetched.filter((f) => BigInt(f.message.offset) > range.to);
  }
}

export async function runSink({ kafka, registry, clickhouse, config, logger, inserted }: SinkDeps): Promise<RunningService> {
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = sinkGroupOf(config);
  const routes = routesFor(topics, registry);
  const admin = kafka.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster();
  const deadLetters = RenewingProducer.idempotent(kafka);
  await deadLetters.connect();
  const inserters = insertClientsFor(config.clickhouse, clickhouse, config.sink.partitionsConcurrently);
  const sink = new Sink({
    consumer: kafka.consumer({
      groupId,
      readUncommitted: false,
      minBytes: config.sink.minBytes,
      maxWaitTimeInMs: config.sink.maxWaitMs,
      maxBytesPerPartition: config.sink.maxBytesPerPartition,
      maxBytes: Math.max(config.sink.maxBytesPerPartition * 4, 10 * 1024 * 1024),
    }),
    topics,
    groupId,
    deadLetters,
    inserters: new Pool(inserters.clients, (waitedMs) => new Error(`no sink insert client came free in ${waitedMs} ms`)),
    routes,
    progress: new ProgressBook(admin, groupId),
    clusterId,
    config,
    logger,
    inserted,
    close: async () => {
      await Promise.allSettled([deadLetters.disconnect(), admin.disconnect(), inserters.close()]);
    },
  });
  await sink.runner.start();
  return { died: sink.runner.died, stop: () => sink.runner.stop() };
}
