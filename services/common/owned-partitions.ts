/**
 * The input partitions a transactional consumer owns (the processor's journey and identity steps):
 * each a transactional producer (transactional.id = <group>.<partition>, whose start fences any
 * earlier owner — a zombie, or this process before a SIGKILL — and aborts its open transaction) and
 * the partition's state, read back from the same partition of its compacted changelog only after
 * that fence.
 */
import type { Batch, Consumer, ICustomPartitioner, Kafka, Producer } from 'kafkajs';
import { createTransactionalProducer, readPartitionsToEnd, topicOffsets } from './kafka.ts';
import type { Logger } from './logger.ts';

export interface OwnedPartition<S> {
  readonly state: S;
  readonly producer: Producer;
}

export interface OwnedPartitionsOptions<S> {
  readonly groupId: string;
  readonly changelogTopic: string;
  readonly newState: (partition: number) => S;
  readonly restore: (state: S, key: string, value: Buffer | null) => void;
  /** What the log line after a restore says of the state, e.g. its customer count. */
  readonly describe: (state: S) => Record<string, number>;
  readonly createPartitioner: ICustomPartitioner;
  /** The log event of a restored partition, e.g. `processor.partition_restored`. */
  readonly restoredEvent: string;
}

export class OwnedPartitions<S> {
  private readonly owned = new Map<number, Promise<OwnedPartition<S>>>();
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly options: OwnedPartitionsOptions<S>;

  constructor(kafka: Kafka, logger: Logger, options: OwnedPartitionsOptions<S>) {
    this.kafka = kafka;
    this.logger = logger;
    this.options = options;
  }

  get partitions(): number[] {
    return [...this.owned.keys()];
  }

  acquire(partition: number): Promise<OwnedPartition<S>> {
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

  /** Releases every owned partition not in `assigned` (after a rebalance). */
  keepOnly(assigned: ReadonlySet<number>, failed: (partition: number, error: unknown) => void): void {
    for (const partition of this.partitions.filter((p) => !assigned.has(p))) {
      this.release(partition).catch((error: unknown) => {
        failed(partition, error);
      });
    }
  }

  /**
   * Runs `consumer` over `topic` from its committed offsets: each batch goes to `handle` with its
   * partition's state and producer (taken, fenced and restored first), and `handle` commits it in a
   * transaction. A batch that throws releases its partition (the state ran ahead of what was
   * committed, so it is restored again) and kafkajs reads it again; `failed` hears of it first.
   */
  async consume(
    consumer: Consumer,
    topic: string,
    handle: (batch: Batch, owned: OwnedPartition<S>) => Promise<void>,
    failed: (partition: number, error: unknown) => void,
  ): Promise<void> {
    await this.refuseUnbackedPartitions(topic);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const last = batch.messages.at(-1);
        if (last === undefined || payload.isStale()) return;
        const owned = await this.acquire(batch.partition);
        try {
          await handle(batch, owned);
        } catch (error: unknown) {
          failed(batch.partition, error);
          await this.release(batch.partition);
          throw error;
        }
        payload.resolveOffset(last.offset);
        await payload.heartbeat();
      },
    });
  }

  /** Releases every partition (after the consumer stopped). */
  async releaseAll(): Promise<void> {
    await Promise.allSettled(this.partitions.map((partition) => this.release(partition)));
  }

  /**
   * Each input partition keeps its state in the changelog partition of its number: one without it
   * (partitions added to the input alone) could never commit, and would stall. Refused at start.
   */
  private async refuseUnbackedPartitions(topic: string): Promise<void> {
    const { changelogTopic } = this.options;
    const [input, changelog] = await Promise.all([topicOffsets(this.kafka, topic), topicOffsets(this.kafka, changelogTopic)]);
    if (changelog.length < input.length)
      throw new Error(
        `${topic} has ${input.length} partitions and its changelog ${changelogTopic} ${changelog.length}: ` +
          `each partition keeps its state in the changelog partition of its number. Partitions are chosen ` +
          `when the topics are created (KAFKA_TOPIC_PARTITIONS); see the README (journey run processor)`,
      );
  }

  private async take(partition: number): Promise<OwnedPartition<S>> {
    const { groupId, changelogTopic, newState, restore, describe, createPartitioner, restoredEvent } = this.options;
    const producer = createTransactionalProducer(this.kafka, `${groupId}.${partition}`, createPartitioner);
    await producer.connect(); // initProducerId: fences the previous owner of this transactional.id
    const state = newState(partition);
    const began = performance.now();
    const records = await readPartitionsToEnd(
      this.kafka,
      changelogTopic,
      [partition],
      (_p, key, value) => {
        restore(state, key, value);
      },
      120_000,
    );
    this.logger.info({ event: restoredEvent, partition, records, ...describe(state), ms: Math.round(performance.now() - began) });
    return { state, producer };
  }
}
