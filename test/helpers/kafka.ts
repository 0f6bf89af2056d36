import type { Kafka, KafkaMessage } from 'kafkajs';
import { pollUntil } from '../../services/common/poll.ts';
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
