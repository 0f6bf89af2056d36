/**
 * An at-least-once consumer loop that decodes each message and dead-letters the ones it cannot.
 *
 * Contract:
 * - Per batch: decode every message; send the poison ones to the dead-letter topic and wait for
 *   Kafka's ack; hand the good ones to `handle` and wait for it; only then commit the batch's
 *   offsets. A crash before the commit re-reads the batch, so `handle` must be idempotent
 *   (ClickHouse inserts with dedup tokens, upserts by key, ...).
 * - Poison never stops the loop: it is moved aside with its reason and the loop goes on.
 * - A transient failure (registry or downstream unreachable) throws; kafkajs retries the batch
 *   from its last committed offset, and gives up by crashing the consumer, which the process
 *   treats as fatal so a supervisor restarts it.
 * - On rebalance kafkajs waits for the batch in hand to finish before partitions are revoked.
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { deadLetterMessage, type DeadLetterNames } from './dead-letter.ts';
import { createIdempotentProducer } from './kafka.ts';
import type { Logger } from './logger.ts';

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly stage: string };

export interface Decodable {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface Delivered<T> {
  readonly value: T;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface DecodingConsumerOptions<T> {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly deadLetterHeaders: DeadLetterNames;
  readonly decode: (message: Decodable) => Promise<DecodeResult<T>>;
  readonly handle: (batch: readonly Delivered<T>[]) => Promise<void>;
  readonly logger: Logger;
  readonly fromBeginning?: boolean;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

export async function runDecodingConsumer<T>(options: DecodingConsumerOptions<T>): Promise<RunningConsumer> {
  const { kafka, groupId, logger } = options;
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted: false });
  const deadLetters: Producer = createIdempotentProducer(kafka);
  await Promise.all([consumer.connect(), deadLetters.connect()]);
  await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const good: Delivered<T>[] = [];
      const poison = [];
      for (const message of batch.messages) {
        const decoded = await options.decode(message);
        if (decoded.ok) {
          good.push({ value: decoded.value, topic: batch.topic, partition: batch.partition, offset: message.offset });
        } else {
          poison.push(
            deadLetterMessage(
              { ...message, topic: batch.topic, partition: batch.partition },
              { reason: decoded.reason, stage: decoded.stage, consumerGroup: groupId, at: Date.now() },
              options.deadLetterHeaders,
            ),
          );
          logger.warn({ event: 'consumer.dead_letter', topic: batch.topic, partition: batch.partition, offset: message.offset, reason: decoded.reason });
        }
      }
      if (poison.length > 0) await deadLetters.send({ topic: options.deadLetterTopic, messages: poison, acks: -1 });
      if (good.length > 0) await options.handle(good);
      const last = batch.messages.at(-1);
      if (last !== undefined) payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    },
  });
  return {
    stop: async () => {
      await consumer.disconnect();
      await deadLetters.disconnect();
    },
  };
}
