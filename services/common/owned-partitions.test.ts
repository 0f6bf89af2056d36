/**
 * OwnedPartitions without a broker: the fence before the restore, one transaction per batch with
 * its offset, a failed batch's state dropped and restored again, partitions released on a
 * rebalance, commits past trailing transaction markers only forward and only after the fence, and
 * a changelog with fewer partitions than its input refused.
 */
import type { TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { FakeConsumer, FakeProducer, silent } from '../../test/helpers/stream-fakes.ts';
import { OwnedPartitions, type PartitionsKafka } from './owned-partitions.ts';

/** A changelog partition's records, the group's offsets and each producer made, as a spec sets them. */
class FakeKafka implements PartitionsKafka {
  readonly log: string[] = [];
  readonly producers: FakeProducer[] = [];
  changelog = new Map<number, [string, string | null][]>();
  offsets: { partition: number; offset: string }[] = [];
  partitionCounts = new Map<string, number>([
    ['in', 2],
    ['changelog', 2],
  ]);
  producer(transactionalId: string) {
    const producer = new FakeProducer();
    const connect = producer.connect.bind(producer);
    producer.connect = () => {
      this.log.push(`fence ${transactionalId}`);
      return connect();
    };
    this.producers.push(producer);
    return producer.asProducer();
  }
  readChangelog(partition: number, onRecord: (key: string, value: Buffer | null) => void): Promise<number> {
    this.log.push(`restore ${String(partition)}`);
    const records = this.changelog.get(partition) ?? [];
    for (const [key, value] of records) onRecord(key, value === null ? null : Buffer.from(value));
    return Promise.resolve(records.length);
  }
  groupOffsets(): Promise<{ partition: number; offset: string }[]> {
    return Promise.resolve(this.offsets);
  }
  partitionCount(topic: string): Promise<number> {
    return Promise.resolve(this.partitionCounts.get(topic) ?? 0);
  }
}

function setUp() {
  const kafka = new FakeKafka();
  const partitions = new OwnedPartitions<Map<string, string>>(kafka, silent, {
    groupId: 'g',
    changelogTopic: 'changelog',
    newState: () => new Map(),
    restore: (state, key, value) => {
      if (value === null) state.delete(key);
      else state.set(key, value.toString());
    },
    describe: (state) => ({ keys: state.size }),
    restoredEvent: 'test.partition_restored',
  });
  return { kafka, partitions };
}

const assignment = (...partitions: number[]) => new Map([['in', new Set(partitions)]]);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const outputs: TopicMessages[] = [{ topic: 'out', messages: [{ key: 'k', value: 'v' }] }];

describe('OwnedPartitions', () => {
  it('fences the earlier owner before it restores the state from the changelog partition of the same number', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    kafka.changelog.set(1, [
      ['a', '1'],
      ['b', '2'],
      ['a', null],
    ]);
    const owned = await partitions.acquire('in', 1);
    expect(kafka.log).toEqual(['fence g.1', 'restore 1']);
    expect([...owned.state]).toEqual([['b', '2']]);
    expect(await partitions.acquire('in', 1)).toBe(owned);
    expect(kafka.log).toHaveLength(2);
  });

  it('commits a batch in one transaction with its outputs and the offset past it, and stands there after', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    const owned = await partitions.acquire('in', 0);
    await partitions.commit(owned, { topic: 'in', partition: 0, next: 42n }, outputs);
    expect(kafka.producers[0]?.transactions).toEqual([
      {
        sent: outputs,
        offsets: [{ consumerGroupId: 'g', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '42' }] }] }],
        outcome: 'committed',
      },
    ]);
    expect(partitions.position('in', 0)).toBe(42n);
  });

  it('aborts a transaction Kafka refuses; after the failure the partition is restored again by a new, fencing producer', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    const owned = await partitions.acquire('in', 0);
    const producer = kafka.producers[0] as FakeProducer;
    producer.failCommits = 1;
    await expect(partitions.commit(owned, { topic: 'in', partition: 0, next: 5n }, outputs)).rejects.toThrow('commit refused');
    expect(producer.transactions.map((t) => t.outcome)).toEqual(['aborted']);
    expect(partitions.position('in', 0)).toBeUndefined();
    await partitions.failed('in', 0);
    expect(producer.calls.at(-1)).toBe('disconnect');
    const again = await partitions.acquire('in', 0);
    expect(again).not.toBe(owned);
    expect(kafka.log).toEqual(['fence g.0', 'restore 0', 'fence g.0', 'restore 0']);
  });

  it('releases what a rebalance took away, and learns where the group stands in what it kept', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    await partitions.acquire('in', 0);
    await partitions.acquire('in', 1);
    kafka.offsets = [
      { partition: 0, offset: '17' },
      { partition: 1, offset: '23' },
    ];
    partitions.assigned(assignment(1));
    await settle();
    expect(partitions.partitions).toEqual([1]);
    expect(kafka.producers[0]?.calls.at(-1)).toBe('disconnect');
    expect([partitions.position('in', 0), partitions.position('in', 1)]).toEqual([undefined, 23n]);
  });

  it('commits past trailing transaction markers only forward, only in an assigned partition, and after its fence', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    kafka.offsets = [{ partition: 0, offset: '10' }];
    partitions.assigned(assignment(0));
    const consumer = new FakeConsumer();
    partitions.markersOnly(consumer.asConsumer(), 'in', 0, 12n);
    await settle();
    await settle();
    expect(consumer.commits).toEqual([{ topic: 'in', partition: 0, offset: '12' }]);
    expect(kafka.log).toEqual(['fence g.0', 'restore 0']);
    partitions.markersOnly(consumer.asConsumer(), 'in', 0, 11n);
    partitions.markersOnly(consumer.asConsumer(), 'in', 1, 30n);
    await settle();
    expect(consumer.commits).toHaveLength(1);
  });

  it("runs a partition's batches and steps between them one at a time, in order", async () => {
    const { partitions } = setUp();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = partitions.inTurn('in', 0, async () => {
      await held;
      order.push('first');
    });
    const second = partitions.inTurn('in', 0, () => Promise.resolve(void order.push('second')));
    const other = partitions.inTurn('in', 1, () => Promise.resolve(void order.push('other partition')));
    await other;
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['other partition', 'first', 'second']);
  });

  it('runs a step between batches only where the partition is assigned, and held unless asked to take it', async () => {
    const { kafka, partitions } = setUp();
    await partitions.prepare(['in']);
    kafka.offsets = [{ partition: 0, offset: '3' }];
    partitions.assigned(assignment(0));
    await settle();
    const ran: string[] = [];
    const step = (_owned: unknown, position: bigint) => Promise.resolve(void ran.push(`at ${String(position)}`));
    await partitions.betweenBatches(1, step, { take: true });
    await partitions.betweenBatches(0, step, { take: false });
    expect(ran).toEqual([]);
    await partitions.betweenBatches(0, step, { take: true });
    expect(ran).toEqual(['at 3']);
    await expect(partitions.betweenBatches(0, () => Promise.reject(new Error('held days failed')), { take: false })).rejects.toThrow(
      'held days failed',
    );
    expect(partitions.partitions).toEqual([]);
  });

  it('refuses an input with more partitions than its changelog, naming both', async () => {
    const { kafka, partitions } = setUp();
    kafka.partitionCounts.set('in', 3);
    await expect(partitions.prepare(['in'])).rejects.toThrow('in has 3 partitions and its changelog changelog 2');
  });
});
