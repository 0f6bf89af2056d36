import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RenewingProducer } from './renewing-producer.ts';

const outOfOrder = () =>
  Object.assign(new Error('The broker received an out of order sequence number'), {
    name: 'KafkaJSProtocolError',
    type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });

/** Producers as a broker that lost the first one's sequence treats them: the first fails every send, the next connect may fail. */
function producers(connectFailures: number) {
  const made: string[] = [];
  let failuresLeft = connectFailures;
  const make = (): Producer => {
    const name = `p${String(made.length + 1)}`;
    made.push(name);
    return {
      connect: () => (made.length > 1 && failuresLeft-- > 0 ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve()),
      disconnect: () => Promise.resolve(),
      send: () => (name === 'p1' ? Promise.reject(outOfOrder()) : Promise.resolve([{ topicName: name, partition: 0, errorCode: 0 }])),
      sendBatch: () => Promise.resolve([]),
    } as unknown as Producer;
  };
  return { made, make };
}

describe('RenewingProducer', () => {
  it('replaces a producer whose sequence the broker lost, on the next send, again while Kafka is away', async () => {
    const { made, make } = producers(1);
    const producer = new RenewingProducer(make);
    await producer.connect();
    const send = () =>
      producer.send({ topic: 't', messages: [] }).then(
        (metadata) => metadata[0]?.topicName,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    expect([await send(), await send(), await send(), await send()]).toEqual([
      'The broker received an out of order sequence number',
      'connect ECONNREFUSED',
      'p3',
      'p3',
    ]);
    expect(made).toEqual(['p1', 'p2', 'p3']);
  });
});
