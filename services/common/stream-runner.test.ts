/**
 * The runner's contract without a broker (kafkajs's consumer and a delivery stood in for): what
 * is decoded, routed, committed and resolved for a batch, in which order; what a failing batch
 * leaves; transaction markers, assignments, a consumer that dies, pauses and stopping.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../schemas/topics.ts';
import { FakeConsumer, message, silent } from '../../test/helpers/stream-fakes.ts';
import { deadLetter, drop, ok, redirect, type StepResult } from './step-result.ts';
import {
  mergeByTopic,
  StreamRunner,
  type Assignment,
  type Delivery,
  type StepOutcome,
  type StreamBatch,
  type StreamStep,
} from './stream-runner.ts';

/** A delivery that records what the runner asks of it. */
class RecordingDelivery implements Delivery<string> {
  autoCommit = false;
  readonly log: string[] = [];
  readonly commits: { partition: number; next: bigint; outputs: readonly TopicMessages[] }[] = [];
  positions = new Map<number, bigint>();
  failCommit = false;
  sendNow?: (outputs: readonly TopicMessages[]) => Promise<void>;
  assigned(assignment: Assignment): void {
    this.log.push(`assigned ${JSON.stringify([...assignment].map(([t, p]) => [t, [...p]]))}`);
  }
  inTurn<R>(_topic: string, _partition: number, work: () => Promise<R>): Promise<R> {
    return work();
  }
  acquire(_topic: string, partition: number): Promise<string> {
    this.log.push(`acquire ${String(partition)}`);
    return Promise.resolve(`context of ${String(partition)}`);
  }
  position(_topic: string, partition: number): bigint | undefined {
    return this.positions.get(partition);
  }
  commit(_context: string, batch: { partition: number; next: bigint }, outputs: readonly TopicMessages[]): Promise<void> {
    if (this.failCommit) return Promise.reject(new Error('transaction refused'));
    this.log.push(`commit ${String(batch.partition)} at ${String(batch.next)}`);
    this.commits.push({ partition: batch.partition, next: batch.next, outputs });
    return Promise.resolve();
  }
  failed(_topic: string, partition: number): Promise<void> {
    this.log.push(`failed ${String(partition)}`);
    return Promise.resolve();
  }
  markersOnly(_consumer: unknown, topic: string, partition: number, next: bigint): void {
    this.log.push(`markers ${topic} ${String(partition)} to ${String(next)}`);
  }
  close(): Promise<void> {
    this.log.push('close');
    return Promise.resolve();
  }
}

/** Decodes a value as itself, except `poison` (dead letter) and `skip` (dropped). */
const decodeText = (m: KafkaMessage): Promise<StepResult<string>> => {
  const text = m.value?.toString() ?? '';
  if (text === 'poison') return Promise.resolve(deadLetter('not a thing', 'decode'));
  if (text === 'skip') return Promise.resolve(drop);
  return Promise.resolve(ok(text));
};

function setUp(
  process: (batch: StreamBatch<string>, context: string) => Promise<StepOutcome>,
  extra: Partial<StreamStep<string, string>> = {},
) {
  const consumer = new FakeConsumer();
  const delivery = new RecordingDelivery();
  const step: StreamStep<string, string> = { name: 'test', decode: decodeText, process, ...extra };
  const runner = new StreamRunner({
    consumer: consumer.asConsumer(),
    topics: ['in'],
    groupId: 'group',
    deadLetterTopic: 'dead',
    step,
    delivery,
    logger: silent,
    outageToleranceMs: 300_000,
  });
  return { consumer, delivery, runner };
}

const valuesOf = (outputs: readonly TopicMessages[]) =>
  outputs.map((t) => ({ topic: t.topic, values: t.messages.map((m) => (m.value === null ? null : String(m.value))) }));

describe('StreamRunner', () => {
  it('subscribes from the beginning with resolving left to it, and commits what it did not pass itself', async () => {
    const { consumer, runner } = setUp(() => Promise.resolve({ outputs: [] }));
    await runner.start();
    expect(consumer.calls).toEqual(['connect', 'subscribe in fromBeginning=true', 'run']);
    expect({ autoCommit: consumer.runConfig?.autoCommit, eachBatchAutoResolve: consumer.runConfig?.eachBatchAutoResolve }).toEqual({
      autoCommit: false,
      eachBatchAutoResolve: false,
    });
  });

  it('hands the step the decoded values, routes dead letters and redirects with its outputs, commits past the markers, then resolves', async () => {
    const batches: StreamBatch<string>[] = [];
    const { consumer, delivery, runner } = setUp((batch, context) => {
      batches.push(batch);
      const [, second] = batch.decoded;
      return Promise.resolve({
        outputs: [{ topic: 'out', messages: batch.decoded.map(({ value }) => ({ key: null, value: `${value} in ${context}` })) }],
        setAside:
          second === undefined
            ? []
            : [{ message: second.message, result: redirect('elsewhere', { key: 'x', value: 'moved', partition: 2 }) }],
      });
    });
    await runner.start();
    const { resolved, heartbeats } = await consumer.deliver(
      'in',
      3,
      [message(10, 'a'), message(11, 'poison'), message(12, 'b'), message(13, 'skip')],
      {
        lastOffset: '15',
      },
    );

    expect(batches.map((b) => ({ messages: b.messages.length, decoded: b.decoded.map((d) => d.value), next: b.next }))).toEqual([
      { messages: 4, decoded: ['a', 'b'], next: 16n },
    ]);
    const [commit] = delivery.commits;
    expect(commit?.next).toBe(16n);
    expect(valuesOf(commit?.outputs ?? [])).toEqual([
      { topic: 'out', values: ['a in context of 3', 'b in context of 3'] },
      { topic: 'dead', values: ['poison'] },
      { topic: 'elsewhere', values: ['moved'] },
    ]);
    const dead = commit?.outputs.find((t) => t.topic === 'dead')?.messages[0];
    expect(Object.fromEntries(Object.entries(dead?.headers ?? {}).filter(([name]) => name !== DEAD_LETTER_HEADERS.failedAt))).toEqual({
      [DEAD_LETTER_HEADERS.reason]: 'not a thing',
      [DEAD_LETTER_HEADERS.stage]: 'decode',
      [DEAD_LETTER_HEADERS.sourceTopic]: 'in',
      [DEAD_LETTER_HEADERS.sourcePartition]: '3',
      [DEAD_LETTER_HEADERS.sourceOffset]: '11',
      [DEAD_LETTER_HEADERS.consumerGroup]: 'group',
    });
    expect({ resolved, heartbeats }).toEqual({ resolved: ['15'], heartbeats: 1 });
    expect(delivery.log).toEqual(['acquire 3', 'commit 3 at 16']);
  });

  it("runs a step's after-commit work only once its outputs are committed", async () => {
    const order: string[] = [];
    const { consumer, delivery, runner } = setUp(() =>
      Promise.resolve({
        outputs: [],
        committed: () => {
          order.push(`after ${delivery.log.at(-1) ?? ''}`);
        },
      }),
    );
    await runner.start();
    await consumer.deliver('in', 0, [message(0, 'a')]);
    expect(order).toEqual(['after commit 0 at 1']);
  });

  it("drops the partition's context when a batch fails, rethrows for kafkajs to read it again, and resolves nothing", async () => {
    let after = 0;
    const { consumer, delivery, runner } = setUp(() =>
      Promise.resolve({
        outputs: [],
        committed: () => {
          after++;
        },
      }),
    );
    await runner.start();
    delivery.failCommit = true;
    await expect(consumer.deliver('in', 1, [message(5, 'a')])).rejects.toThrow('transaction refused');
    expect(delivery.log).toEqual(['acquire 1', 'failed 1']);
    expect(after).toBe(0);
    delivery.failCommit = false;
    expect(await consumer.deliver('in', 1, [message(5, 'a')])).toEqual({ resolved: ['5'], heartbeats: 1 });
  });

  it('a step that throws fails the batch the same way', async () => {
    const { consumer, delivery, runner } = setUp(() => Promise.reject(new Error('rule broke')));
    await runner.start();
    await expect(consumer.deliver('in', 0, [message(0, 'a')])).rejects.toThrow('rule broke');
    expect(delivery.log).toEqual(['acquire 0', 'failed 0']);
  });

  it('skips what the group already committed, and resolves a fetch that holds nothing else without the step', async () => {
    const steps: string[][] = [];
    const { consumer, delivery, runner } = setUp((batch) => {
      steps.push(batch.messages.map((m) => m.offset));
      return Promise.resolve({ outputs: [] });
    });
    await runner.start();
    delivery.positions.set(0, 7n);
    expect(await consumer.deliver('in', 0, [message(5, 'a'), message(6, 'b')])).toEqual({ resolved: ['6'], heartbeats: 1 });
    await consumer.deliver('in', 0, [message(6, 'b'), message(7, 'c'), message(8, 'd')]);
    expect(steps).toEqual([['7', '8']]);
    expect(delivery.commits.map((c) => c.next)).toEqual([9n]);
  });

  it('leaves an empty or stale fetch alone', async () => {
    const { consumer, delivery, runner } = setUp(() => Promise.resolve({ outputs: [] }));
    await runner.start();
    expect(await consumer.deliver('in', 0, [])).toEqual({ resolved: [], heartbeats: 0 });
    expect(await consumer.deliver('in', 0, [message(0, 'a')], { stale: true })).toEqual({ resolved: [], heartbeats: 0 });
    expect(delivery.log).toEqual([]);
  });

  it('sends what decoding set aside before the step runs, with a delivery that sends at once (the step commits offsets itself)', async () => {
    const order: string[] = [];
    const { consumer, delivery, runner } = setUp(() => {
      order.push('step');
      return Promise.resolve({ outputs: [] });
    });
    delivery.sendNow = (outputs) => {
      order.push(`sent ${JSON.stringify(valuesOf(outputs))}`);
      return Promise.resolve();
    };
    await runner.start();
    await consumer.deliver('in', 0, [message(0, 'poison'), message(1, 'a')]);
    expect(order).toEqual([`sent ${JSON.stringify([{ topic: 'dead', values: ['poison'] }])}`, 'step']);
    expect(delivery.commits.map((c) => c.outputs)).toEqual([[]]);
  });

  it('tells the delivery and the step of assignments and of fetches of transaction markers only', async () => {
    const heard: string[] = [];
    const { consumer, delivery, runner } = setUp(() => Promise.resolve({ outputs: [] }), {
      assigned: (assignment) => heard.push(`assigned ${String(assignment.get('in')?.size)}`),
      markersOnly: (topic, partition, next) => heard.push(`markers ${topic} ${String(partition)} ${String(next)}`),
    });
    await runner.start();
    consumer.emit('GROUP_JOIN', { memberAssignment: { in: [0, 2], other: [1] } });
    consumer.emit('END_BATCH_PROCESS', { topic: 'in', partition: 2, batchSize: 0, lastOffset: '41' });
    consumer.emit('END_BATCH_PROCESS', { topic: 'in', partition: 2, batchSize: 3, lastOffset: '44' });
    consumer.emit('END_BATCH_PROCESS', { topic: 'other', partition: 1, batchSize: 0, lastOffset: '9' });
    expect(delivery.log).toEqual(['assigned [["in",[0,2]]]', 'markers in 2 to 42']);
    expect(heard).toEqual(['assigned 2', 'markers in 2 42']);
  });

  it('says the consumer died only when kafkajs will not restart it', async () => {
    const { consumer, runner } = setUp(() => Promise.resolve({ outputs: [] }));
    const died = runner.died.then((error) => error.message);
    consumer.emit('CRASH', { error: new Error('broker blip'), restart: true });
    consumer.emit('CRASH', { error: new Error('group authorization failed'), restart: false });
    expect(await died).toBe('group authorization failed');
  });

  it('pauses every topic once for any number of waits, and resumes after the last', () => {
    const { consumer, runner } = setUp(() => Promise.resolve({ outputs: [] }));
    runner.pause();
    runner.pause();
    runner.resume();
    expect({ paused: consumer.paused, resumed: consumer.resumed }).toEqual({ paused: [['in']], resumed: [] });
    runner.resume();
    expect(consumer.resumed).toEqual([['in']]);
  });

  it('stops the step while still in the group, then leaves, then releases — also when leaving fails', async () => {
    const order: string[] = [];
    const { consumer, delivery, runner } = setUp(() => Promise.resolve({ outputs: [] }), {
      stopping: () => {
        order.push(`stopping (${consumer.calls.at(-1) ?? ''})`);
        return Promise.resolve();
      },
      stopped: () => {
        order.push(`stopped (${consumer.calls.at(-1) ?? ''})`);
        return Promise.resolve();
      },
    });
    await runner.start();
    await runner.stop();
    expect([...order, delivery.log.at(-1)]).toEqual(['stopping (run)', 'stopped (disconnect)', 'close']);
    consumer.disconnectError = new Error('broker gone');
    await expect(runner.stop()).rejects.toThrow('broker gone');
    expect(delivery.log.filter((entry) => entry === 'close')).toHaveLength(2);
  });
});

describe('mergeByTopic', () => {
  it("gathers each topic once, in the order topics first appear, keeping each topic's messages in order", () => {
    const m = (value: string) => ({ key: null, value });
    expect(
      valuesOf(
        mergeByTopic([
          { topic: 'a', messages: [m('1')] },
          { topic: 'b', messages: [] },
          { topic: 'dead', messages: [m('x')] },
          { topic: 'a', messages: [m('2')] },
          { topic: 'dead', messages: [m('y')] },
        ]),
      ),
    ).toEqual([
      { topic: 'a', values: ['1', '2'] },
      { topic: 'dead', values: ['x', 'y'] },
    ]);
  });
});
