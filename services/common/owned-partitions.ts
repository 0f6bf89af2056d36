/**
 * The delivery of a consumer whose state is kept per input partition (the processor's journey and
 * identity steps): exactly once, one transaction per batch. Each partition it owns has a
 * transactional producer (transactional.id = <group>.<partition>, whose start fences any earlier
 * owner — a zombie, or this process before a SIGKILL — and aborts its open transaction) and its
 * state, read back from the same partition of its compacted changelog only after that fence. A
 * batch's outputs and the consumer offset commit in the partition's transaction. It also commits
 * past the transaction markers a partition ends in, from where the group stands when the partition
 * is assigned: a restarted step shows no lag where all is counted.
 */
import type { ICustomPartitioner, Kafka, Producer, TopicMessages } from 'kafkajs';
import { commitBatch, createTransactionalProducer, readPartitionsToEnd, topicOffsets } from './kafka.ts';
import type { Logger } from './logger.ts';
import type { Assignment, Delivery, StreamConsumer } from './stream-runner.ts';

export interface OwnedPartition<S> {
  readonly state: S;
  readonly producer: Producer;
}

/** The Kafka an owner of partitions needs: a spec passes its own. */
export interface PartitionsKafka {
  /** A transactional producer: its connect fences the earlier producer of the id. */
  producer(transactionalId: string): Producer;
  /** Hands over each record of a changelog partition, from its start to its end; resolves with their count. */
  readChangelog(partition: number, onRecord: (key: string, value: Buffer | null) => void): Promise<number>;
  /** The group's committed offsets in `topic` (below 0: none). */
  groupOffsets(groupId: string, topic: string): Promise<readonly { readonly partition: number; readonly offset: string }[]>;
  partitionCount(topic: string): Promise<number>;
}

/** A producer of a transactional id, as a test may make it fail (the processor's and identity step's deps). */
export type TransactionalProducerFactory = (kafka: Kafka, transactionalId: string, createPartitioner: ICustomPartitioner) => Producer;

export function partitionsKafka(
  kafka: Kafka,
  changelogTopic: string,
  createPartitioner: ICustomPartitioner,
  producerFactory: TransactionalProducerFactory = createTransactionalProducer,
): PartitionsKafka {
  return {
    producer: (transactionalId) => producerFactory(kafka, transactionalId, createPartitioner),
    readChangelog: (partition, onRecord) =>
      readPartitionsToEnd(
        kafka,
        changelogTopic,
        [partition],
        (_p, key, value) => {
          onRecord(key, value);
        },
        120_000,
      ),
    groupOffsets: async (groupId, topic) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return offsets?.partitions ?? [];
      } finally {
        await admin.disconnect();
      }
    },
    partitionCount: async (topic) => (await topicOffsets(kafka, topic)).length,
  };
}

export interface OwnedPartitionsOptions<S> {
  readonly groupId: string;
  readonly changelogTopic: string;
  readonly newState: (partition: number) => S;
  readonly restore: (state: S, key: string, value: Buffer | null) => void;
  /** What the log line after a restore says of the state, e.g. its customer count. */
  readonly describe: (state: S) => Record<string, number>;
  /** The log event of a restored partition, e.g. `processor.partition_restored`. */
  readonly restoredEvent: string;
}

export class OwnedPartitions<S> implements Delivery<OwnedPartition<S>> {
  readonly autoCommit = false;
  private readonly owned = new Map<number, Promise<OwnedPartition<S>>>();
  /**
   * Where the group stands in each assigned partition, as this instance knows it: from the group's
   * offsets when the partition was assigned, then from its own commits. Forgotten when the partition goes.
   */
  private readonly committed = new Map<number, bigint>();
  private assignedPartitions: ReadonlySet<number> = new Set();
  /** Per partition, its latest batch or step between batches: the next waits for it (they share a producer). */
  private readonly turns = new Map<number, Promise<unknown>>();
  /** The group's offsets being read for the latest assignment. */
  private learning: Promise<void> = Promise.resolve();
  private topic: string | undefined;
  private readonly kafka: PartitionsKafka;
  private readonly logger: Logger;
  private readonly options: OwnedPartitionsOptions<S>;

  constructor(kafka: PartitionsKafka, logger: Logger, options: OwnedPartitionsOptions<S>) {
    this.kafka = kafka;
    this.logger = logger;
    this.options = options;
  }

  get partitions(): number[] {
    return [...this.owned.keys()];
  }

  /**
   * Each input partition keeps its state in the changelog partition of its number: one without it
   * (partitions added to the input alone) could never commit, and would stall. Refused at start.
   */
  async prepare(topics: readonly string[]): Promise<void> {
    const [topic] = topics;
    if (topic === undefined || topics.length > 1) throw new Error('a consumer owning partitions reads exactly one topic');
    const { changelogTopic } = this.options;
    const [input, changelog] = await Promise.all([this.kafka.partitionCount(topic), this.kafka.partitionCount(changelogTopic)]);
    if (changelog < input)
      throw new Error(
        `${topic} has ${input} partitions and its changelog ${changelogTopic} ${changelog}: ` +
          `each partition keeps its state in the changelog partition of its number. Partitions are chosen ` +
          `when the topics are created (KAFKA_TOPIC_PARTITIONS); see the README (journey run processor)`,
      );
    this.topic = topic;
  }

  acquire(_topic: string, partition: number): Promise<OwnedPartition<S>> {
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

  /** Releases every owned partition no longer assigned (after a rebalance), and learns where the group stands in the rest. */
  assigned(assignment: Assignment): void {
    const assigned = (this.topic === undefined ? undefined : assignment.get(this.topic)) ?? new Set<number>();
    this.assignedPartitions = assigned;
    for (const partition of this.committed.keys()) if (!assigned.has(partition)) this.committed.delete(partition);
    for (const partition of this.partitions.filter((p) => !assigned.has(p))) {
      this.release(partition).catch((error: unknown) => {
        this.logger.warn({ event: 'consumer.release_failed', partition, err: error });
      });
    }
    this.learning = this.learnGroupOffsets().catch((error: unknown) => {
      this.logger.warn({ event: 'consumer.offsets_unread', err: error }, 'trailing transaction markers wait for the next batch');
    });
  }

  /**
   * A fetch can start below where the group stands: kafkajs reads the group's offsets at a
   * rebalance without waiting for a transaction's offsets to be written (no require_stable), so it
   * can fetch again what a transaction just committed. Replayed, events would be recognised by
   * their ids, but identity commands would be carried out twice.
   */
  position(_topic: string, partition: number): bigint | undefined {
    return this.committed.get(partition);
  }

  async commit(
    { producer }: OwnedPartition<S>,
    batch: { readonly topic: string; readonly partition: number; readonly next: bigint },
    outputs: readonly TopicMessages[],
  ): Promise<void> {
    const { topic, partition, next } = batch;
    await commitBatch(producer, this.options.groupId, { topic, partition, next: next.toString() }, outputs);
    this.committed.set(partition, next);
  }

  /** After a batch or step failed part way: the state ran ahead of what was committed, so it is restored when next taken. */
  async failed(_topic: string, partition: number): Promise<void> {
    this.committed.delete(partition);
    await this.release(partition);
  }

  inTurn<T>(_topic: string, partition: number, step: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(partition) ?? Promise.resolve();
    const turn = previous.then(step);
    this.turns.set(
      partition,
      turn.catch(() => undefined),
    );
    return turn;
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
    await this.inTurn('', partition, async () => {
      if (!this.assignedPartitions.has(partition) || (!take && !this.owned.has(partition))) return;
      const owned = await this.acquire('', partition);
      const position = this.committed.get(partition);
      if (position === undefined) return;
      try {
        await step(owned, position);
      } catch (error: unknown) {
        await this.failed('', partition);
        throw error;
      }
    });
  }

  /** Releases every partition (after the consumer stopped). */
  async close(): Promise<void> {
    await Promise.allSettled(this.partitions.map((partition) => this.release(partition)));
  }

  /**
   * A topic written in transactions ends in a marker, and a fetch holding only markers never reaches
   * eachBatch: the group's offset would stay a marker short of the end (a lag of 1 where everything
   * is counted) until more data came. Committed past them, only forward from where this instance
   * knows the group stands, so a stale fetch can never move the group back.
   */
  markersOnly(consumer: StreamConsumer, topic: string, partition: number, next: bigint): void {
    this.commitPast(consumer, topic, partition, next).catch((error: unknown) => {
      this.logger.warn({ event: 'consumer.marker_commit_failed', partition, err: error });
    });
  }

  private async commitPast(consumer: StreamConsumer, topic: string, partition: number, next: bigint): Promise<void> {
    // After a restart the markers' fetch comes before this instance commits anything there.
    if (!this.committed.has(partition)) await this.learning;
    const at = this.committed.get(partition);
    if (at === undefined || next <= at || !this.assignedPartitions.has(partition)) return;
    this.committed.set(partition, next);
    // Taken first, as for a batch: its producer fences any earlier owner, whose open transaction
    // could otherwise commit an offset below this one after it.
    await this.acquire(topic, partition);
    await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
  }

  /** Where the group stands in the assigned partitions this instance has not committed yet (after a restart, all of them). */
  private async learnGroupOffsets(): Promise<void> {
    const topic = this.topic;
    if (topic === undefined) return;
    for (const { partition, offset } of await this.kafka.groupOffsets(this.options.groupId, topic)) {
      const at = this.committed.get(partition);
      if (this.assignedPartitions.has(partition) && Number(offset) >= 0 && (at === undefined || BigInt(offset) > at))
        this.committed.set(partition, BigInt(offset));
    }
  }

  private async take(partition: number): Promise<OwnedPartition<S>> {
    const { groupId, newState, restore, describe, restoredEvent } = this.options;
    const producer = this.kafka.producer(`${groupId}.${partition}`);
    await producer.connect(); // initProducerId: fences the previous owner of this transactional.id
    const state = newState(partition);
    const began = performance.now();
    const records = await this.kafka.readChangelog(partition, (key, value) => {
      restore(state, key, value);
    });
    this.logger.info({ event: restoredEvent, partition, records, ...describe(state), ms: Math.round(performance.now() - began) });
    // Where the group stands, read after the fence: an earlier owner's last commit is complete by now.
    await this.learnGroupOffsets().catch((error: unknown) => {
      this.logger.warn({ event: 'consumer.offsets_unread', partition, err: error }, 'a batch the group committed may be read again');
    });
    return { state, producer };
  }
}
