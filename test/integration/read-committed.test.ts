/**
 * Every exactly-once guarantee journeyline gives rests on its read_committed consumers never
 * seeing the records of an aborted transaction. kafkajs filters them itself, from the list of
 * aborted transactions a fetch returns (patches/kafkajs+2.2.4.patch): the broker lists them in
 * the order they were aborted, not started, and a fetch can start inside several of them. A
 * processor SIGKILLed with transactions open on one partition left exactly that behind, and its
 * successor read a forwarded visitor and its merge twice.
 */
import { describe, expect, it } from 'vitest';
import { Partitioners, type Kafka, type Producer, type Transaction } from 'kafkajs';
import { createKafka, createTransactionalProducer, ensureTopics, readPartitionsToEnd } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';

const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1' });

/**
 * Two transactions open on one partition at once, written and aborted in the order of `steps`
 * (`a:<value>` sends in a's transaction, `b:abort` aborts b's), then a committed record.
 */
async function interleavedAborts(kafka: Kafka, topic: string, steps: readonly string[]): Promise<void> {
  const producers = new Map<string, Producer>(
    ['a', 'b'].map((name) => [name, createTransactionalProducer(kafka, uniqueName(`${topic}.${name}`), Partitioners.DefaultPartitioner)]),
  );
  await Promise.all([...producers.values()].map((p) => p.connect()));
  try {
    const open = new Map<string, Transaction>();
    for (const [name, producer] of producers) open.set(name, await producer.transaction());
    const send = async (tx: Transaction, value: string) => {
      await tx.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
    };
    for (const step of steps) {
      const [name = '', what = ''] = step.split(':');
      const tx = open.get(name);
      if (tx === undefined || what === '') throw new Error(`step ${step}: expected a:… or b:…`);
      if (what === 'abort') await tx.abort();
      else await send(tx, what);
    }
    const committed = await producers.get('a')?.transaction();
    if (committed === undefined) throw new Error('producer a');
    await send(committed, 'committed');
    await committed.commit();
  } finally {
    await Promise.all([...producers.values()].map((p) => p.disconnect()));
  }
}

describe('read_committed consumers', () => {
  it('skip an aborted transaction that started before one aborted earlier', { timeout: 60_000 }, async () => {
    const kafka = createKafka(config.kafka, undefined);
    const topic = uniqueName('read-committed');
    await ensureTopics(kafka, config.kafka, [{ name: topic, compacted: false }]);
    await interleavedAborts(kafka, topic, ['a:a1', 'b:b1', 'b:abort', 'a:a2', 'a:abort']);
    const seen: string[] = [];
    await readPartitionsToEnd(kafka, topic, [0], (_p, _key, value) => void seen.push(value?.toString() ?? ''), 30_000);
    expect(seen).toEqual(['committed']);
  });

  it('skip every aborted transaction a fetch starts inside', { timeout: 60_000 }, async () => {
    const kafka = createKafka(config.kafka, undefined);
    const topic = uniqueName('read-committed');
    await ensureTopics(kafka, config.kafka, [{ name: topic, compacted: false }]);
    // Offsets: a1 0, b1 1, a2 2, b2 3, then the abort markers. A group standing at b2 fetches from
    // inside both transactions.
    await interleavedAborts(kafka, topic, ['a:a1', 'b:b1', 'a:a2', 'b:b2', 'a:abort', 'b:abort']);
    const groupId = uniqueName('read-committed-group');
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] }).finally(() => admin.disconnect());
    const consumer = kafka.consumer({ groupId, readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          return Promise.resolve();
        },
      });
      await pollUntil(() => Promise.resolve(seen.includes('committed') ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the committed record',
      });
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(['committed']);
  });
});
