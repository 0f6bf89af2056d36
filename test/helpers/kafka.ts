import type { Kafka, KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { readPartitionsToEnd } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { recordDecoder, registerTopicEncoders, type TopicEncoders } from '../../services/common/record-codec.ts';
import type { TopicRecord, TopicWithRecord } from '../../schemas/topic-records.ts';
import type { Topics } from '../../schemas/topics.ts';
import { uniqueName } from './config.ts';

/** Reads the first `count` committed messages of `topic` from the beginning, or times out. */
export async function consumeN(kafka: Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('test-reader'), readUncommitted: false });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push(message);
        return Promise.resolve();
      },
    });
    return await pollUntil(() => Promise.resolve(seen.length >= count ? seen.slice(0, count) : undefined), {
      timeoutMs,
      what: `${count} message(s) on ${topic} (have ${seen.length})`,
    });
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Every committed record of the given partitions of one of journeyline's record topics, decoded
 * as its services decode it (null for a tombstone); a record that does not decode fails the test.
 */
export async function readRecords<T>(
  kafka: Kafka,
  registry: SchemaRegistry,
  topic: string,
  contract: TopicRecord<T>,
  partitions: readonly number[],
): Promise<{ key: string; value: T | null }[]> {
  const decode = recordDecoder(registry, contract);
  const records: { key: string; value: T | null }[] = [];
  await readPartitionsToEnd(
    kafka,
    topic,
    partitions,
    async (_p, key, value) => {
      if (value === null) {
        records.push({ key, value: null });
        return;
      }
      const decoded = await decode({ key: Buffer.from(key), value });
      if (decoded.kind !== 'ok') throw new Error(`${topic} record ${key} does not decode: ${decoded.reason}`);
      records.push({ key, value: decoded.value });
    },
    60_000,
  );
  return records;
}

/** The encoders a test writes journeyline's records with, as the services do (schemas registered). */
export const encodersFor = <K extends TopicWithRecord>(registry: SchemaRegistry, topics: Topics, ...keys: K[]): Promise<TopicEncoders<K>> =>
  registerTopicEncoders(registry, topics, keys);
