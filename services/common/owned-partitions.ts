/**
 * The input partitions a transactional consumer owns (the processor's journey and identity steps):
 * each a transactional producer (transactional.id = <group>.<partition>, whose start fences any
 * earlier owner — a zombie, or this process before a SIGKILL — and aborts its open transaction) and
 * the partition's state, read back from the same partition of its compacted changelog only after
 * that fence. It also commits past the transaction markers a partition ends in, from where the
 * group stands when the partition is assigned: a restarted step shows no lag where all is counted.
 */
import type { Consumer, ICustomPartitioner, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { createTransactionalProducer, readPartitionsToEnd, topicOffsets } from './kafka.ts';
import type { Logger } from './logger.ts';

/** The part of a fetched batch a step reads: the messages the group has not committed yet. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  /** The fetch's last offset, transaction markers after the last message included. */
  lastOffset(): string;
}

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
  /**
   * Where the group stands in each assigned partition, as this instance knows it: from the group's
   * offsets when the partition was assigned, then from its own commits. Forgotten when the partition goes.
   */
  private readonly committed = new Map<number, bigint>();
  private assigned: ReadonlySet<number> = new Set();
  /** Per partition, its latest batch or step between batches: the next waits for it (they share a producer). */
  private readonly turns = new Map<number, Promise<unknown>>();
  /** The group's offsets being read for the latest assignment. */
  private learning: Promise<void> = Promise.resolve();
  private topic: string | undefined;
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
    this.assigned = assigned;
    for (const partition of this.committed.keys()) if (!assigned.has(partition)) this.committed.delete(partition);
    for (const partition of this.partitions.filter((p) => !assigned.has(p))) {
      this.release(partition).catch((error: unknown) => {
        failed(partition, error);
      });
    }
    this.learning = this.learnGroupOffsets().catch((error: unknown) => {
      this.logger.warn({ event: 'consumer.offsets_unread', err: error }, 'trailing transaction markers wait for the next batch');
    });
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
    handle: (batch: ConsumedBatch, owned: OwnedPartition<S>) => Promise<void>,
    failed: (partition: number, error: unknown) => void,
  ): Promise<void> {
    await this.refuseUnbackedPartitions(topic);
    this.topic = topic;
    this.commitPastTransactionMarkers(consumer, topic);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const last = batch.messages.at(-1);
        if (last === undefined || payload.isStale()) return;
        await this.inTurn(batch.partition, async () => {
          if (payload.isStale()) return;
          const owned = await this.acquire(batch.partition);
          // A fetch can start below where the group stands: kafkajs reads the group's offsets at a
          // rebalance without waiting for a transaction's offsets to be written (no require_stable),
          // so it can fetch again what a transaction just committed. Replayed, events would be
          // recognised by their ids, but identity commands would be carried out twice.
          const from = this.committed.get(batch.partition) ?? -1n;
          const messages = batch.messages.filter((message) => BigInt(message.offset) >= from);
          if (messages.length === 0) {
            payload.resolveOffset(last.offset);
            return;
          }
          try {
            await handle({ topic: batch.topic, partition: batch.partition, messages, lastOffset: () => batch.lastOffset() }, owned);
          } catch (error: unknown) {
            failed(batch.partition, error);
            await this.forget(batch.partition);
            throw error;
          }
          // lastOffset() counts the transaction markers the fetch held after the last message, as `handle` did.
          this.committed.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
          payload.resolveOffset(last.offset);
        });
        await payload.heartbeat();
      },
    });
  }

  /**
   * Runs `step` between a partition's batches, never beside one (it may use the partition's
   * producer), with where the group stands in it. `take`: a partition assigned here and not held yet
   * is taken first (an assigned partition with nothing to read is never taken by a batch); else the
   * step is skipped unless the partition is held. A step that throws releases the partition as a
   * failed batch does: its state is restored before its next batch.
   */
  async betweenBatches(
    partition: number,
    step: (owned: OwnedPartition<S>, position: bigint) => Promise<void>,
    { take }: { readonly take: boolean },
  ): Promise<void> {
    await this.inTurn(partition, async () => {
      if (!this.assigned.has(partition) || (!take && !this.owned.has(partition))) return;
      const owned = await this.acquire(partition);
      const position = this.committed.get(partition);
      if (position === undefined) return;
      try {
        await step(owned, position);
      } catch (error: unknown) {
        await this.forget(partition);
        throw error;
      }
    });
  }

  /**
   * After a batch or step failed part way: the state ran ahead of what was committed, so the
   * partition is released (restored again when next taken) and where the group stands read again.
   */
  private async forget(partition: number): Promise<void> {
    this.committed.delete(partition);
    await this.release(partition);
  }

  private inTurn<T>(partition: number, step: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(partition) ?? Promise.resolve();
    const turn = previous.then(step);
    this.turns.set(
      partition,
      turn.catch(() => undefined),
    );
    return turn;
  }

  /** Releases every partition (after the consumer stopped). */
  async releaseAll(): Promise<void> {
    await Promise.allSettled(this.partitions.map((partition) => this.release(partition)));
  }

  /**
   * A topic written in transactions ends in a marker, and a fetch holding only markers never reaches
   * eachBatch: the group's offset would stay a marker short of the end (a lag of 1 where everything
   * is counted) until more data came. Committed past them, only forward from where this instance
   * knows the group stands, so a stale fetch can never move the group back.
   */
  private commitPastTransactionMarkers(consumer: Consumer, topic: string): void {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || payload.topic !== topic) return;
      const { partition } = payload;
      this.commitPast(consumer, topic, partition, BigInt(payload.lastOffset) + 1n).catch((error: unknown) => {
        this.logger.warn({ event: 'consumer.marker_commit_failed', partition, err: error });
      });
    });
  }

  private async commitPast(consumer: Consumer, topic: string, partition: number, next: bigint): Promise<void> {
    // After a restart the markers' fetch comes before this instance commits anything there.
    if (!this.committed.has(partition)) await this.learning;
    const at = this.committed.get(partition);
    if (at === undefined || next <= at || !this.assigned.has(partition)) return;
    this.committed.set(partition, next);
    // Taken first, as for a batch: its producer fences any earlier owner, whose open transaction
    // could otherwise commit an offset below this one after it.
    await this.acquire(partition);
    await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
  }

  /** Where the group stands in the assigned partitions this instance has not committed yet (after a restart, all of them). */
  private async learnGroupOffsets(): Promise<void> {
    const topic = this.topic;
    if (topic === undefined) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
      for (const { partition, offset } of offsets?.partitions ?? []) {
        const at = this.committed.get(partition);
        if (this.assigned.has(partition) && Number(offset) >= 0 && (at === undefined || BigInt(offset) > at))
          this.committed.set(partition, BigInt(offset));
      }
    } finally {
      await admin.disconnect();
    }
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
    // Where the group stands, read after the fence: an earlier owner's last commit is complete by now.
    await this.learnGroupOffsets().catch((error: unknown) => {
      this.logger.warn({ event: 'consumer.offsets_unread', partition, err: error }, 'a batch the group committed may be read again');
    });
    return { state, producer };
  }
}
