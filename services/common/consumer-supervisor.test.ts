import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsumerSupervisor } from './consumer-supervisor.ts';
import { isTransientFault } from './transient-faults.ts';
import { FakeConsumer, silent } from '../../test/helpers/stream-fakes.ts';

/** An error as kafkajs names it (the class is not exported). */
const kafkajsError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });
const coordinatorGone = () => kafkajsError('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator', { retriable: false });

function setUp(toleranceMs = 60_000) {
  const consumer = new FakeConsumer();
  const supervisor = new ConsumerSupervisor(consumer.asConsumer(), {
    name: 'test',
    logger: silent,
    outageToleranceMs: toleranceMs,
    firstBackoffMs: 1_000,
    maxBackoffMs: 4_000,
  });
  let dead: Error | undefined;
  void supervisor.died.then((error) => (dead = error));
  return { consumer, supervisor, dead: () => dead };
}

describe('ConsumerSupervisor', () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-12-08T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('starts a consumer kafkajs gave up on during a broker restart again, with the same settings, pausing longer each time', async () => {
    const { consumer, supervisor, dead } = setUp();
    await supervisor.run({ autoCommit: false });
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    await vi.advanceTimersByTimeAsync(999);
    expect(consumer.calls).toEqual(['run']);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumer.calls).toEqual(['run', 'connect', 'run']);
    expect(consumer.runConfig).toEqual({ autoCommit: false });
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(consumer.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumer.calls).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(0);
    expect(dead()).toBeUndefined();
  });

  it('leaves restarting to kafkajs when it restarts itself', async () => {
    const { consumer, supervisor, dead } = setUp();
    await supervisor.run({});
    consumer.emit('CRASH', { error: kafkajsError('KafkaJSNumberOfRetriesExceeded', 'broker blip'), restart: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect({ calls: consumer.calls, dead: dead() }).toEqual({ calls: ['run'], dead: undefined });
  });

  it('gives up at once on a permanent fault, naming it', async () => {
    const { consumer, supervisor, dead } = setUp();
    await supervisor.run({});
    consumer.emit('CRASH', {
      error: kafkajsError('KafkaJSProtocolError', 'Group authorization failed', { type: 'GROUP_AUTHORIZATION_FAILED' }),
      restart: false,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(dead()?.message).toBe('Group authorization failed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(consumer.calls).toEqual(['run']);
  });

  it('gives up once Kafka was unreachable longer than the tolerance, saying for how long; a rejoin ends the outage', async () => {
    const { consumer, supervisor, dead } = setUp(30_000);
    await supervisor.run({});
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    await vi.advanceTimersByTimeAsync(20_000);
    consumer.emit('GROUP_JOIN', { memberAssignment: {} });
    expect(supervisor.outageMs()).toBe(0);
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    await vi.advanceTimersByTimeAsync(25_000);
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    expect(dead()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(6_000);
    consumer.emit('CRASH', { error: coordinatorGone(), restart: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(dead()?.message).toBe(
      'consumer failing for 31 s, longer than KAFKA_OUTAGE_TOLERANCE_S (30 s): KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator',
    );
  });

  it('restarts nothing once stopped', async () => {
    const { consumer, supervisor } = setUp();
    await supervisor.run({});
    consumer.emit('CRASH', { error: coordinatorGone(), restart: false });
    supervisor.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(consumer.calls).toEqual(['run']);
  });
});

describe('isTransientFault', () => {
  it('waits out a broker, the registry or ClickHouse gone, and a producer fenced after a delayed commit; not a refusal or a bug', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const cases: [string, unknown][] = [
      ['coordinator gone', coordinatorGone()],
      [
        'retries exhausted on a closed connection',
        kafkajsError('KafkaJSNonRetriableError', 'x', {
          cause: kafkajsError('KafkaJSNumberOfRetriesExceeded', 'y', {
            cause: kafkajsError('KafkaJSConnectionClosedError', 'Closed connection'),
          }),
        }),
      ],
      ['a socket refused', new Error('fetch failed', { cause: refused })],
      ['a registry answering 503', Object.assign(new Error('Service Unavailable'), { status: 503 })],
      ['a fenced producer', kafkajsError('KafkaJSProtocolError', 'fenced', { type: 'INVALID_PRODUCER_EPOCH', retriable: false })],
      [
        'a member expired while the broker was frozen',
        kafkajsError('KafkaJSNonRetriableError', 'x', {
          cause: kafkajsError('KafkaJSProtocolError', 'The coordinator is not aware of this member', {
            type: 'UNKNOWN_MEMBER_ID',
            retriable: false,
          }),
        }),
      ],
      ['a retriable protocol error', kafkajsError('KafkaJSProtocolError', 'not coordinator', { type: 'NOT_COORDINATOR', retriable: true })],
      [
        'an authorization failure',
        kafkajsError('KafkaJSProtocolError', 'denied', { type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false }),
      ],
      [
        'a bug under a connection error',
        kafkajsError('KafkaJSNonRetriableError', 'x', { cause: new TypeError('undefined is not a function'), errors: [refused] }),
      ],
      ['a registry answering 422', Object.assign(new Error('Unprocessable'), { status: 422 })],
    ];
    expect(cases.map(([name, error]) => [name, isTransientFault(error)])).toEqual([
      ['coordinator gone', true],
      ['retries exhausted on a closed connection', true],
      ['a socket refused', true],
      ['a registry answering 503', true],
      ['a fenced producer', true],
      ['a member expired while the broker was frozen', true],
      ['a retriable protocol error', true],
      ['an authorization failure', false],
      ['a bug under a connection error', false],
      ['a registry answering 422', false],
    ]);
  });
});
