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
import type { Consumer, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { deadLetterMessage } from './dead-letter.ts';
import { createIdempotentProducer } from './kafka.ts';
import type { Logger } from './logger.ts';

export type DecodeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly stage: string };

export interface Decodable {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface DecodedBatch<T> {
  readonly decoded: readonly { readonly message: KafkaMessage; readonly value: T }[];
  /** What did not decode or validate, in batch order, with its dead-letter copy. */
  readonly poison: readonly { readonly message: KafkaMessage; readonly reason: string; readonly deadLetter: Message }[];
}

/**
 * Decodes a fetched batch, message by message, setting aside each one that fails as its
 * dead-letter copy with the reason. Every consumer of journeyline's topics starts here.
 */
export async function decodeOrSetAside<T>(
  batch: { readonly topic: string; readonly partition: number; readonly messages: readonly KafkaMessage[] },
  decode: (message: KafkaMessage) => Promise<DecodeResult<T>>,
  consumerGroup: string,
): Promise<DecodedBatch<T>> {
  const decoded: { message: KafkaMessage; value: T }[] = [];
  const poison: { message: KafkaMessage; reason: string; deadLetter: Message }[] = [];
  for (const message of batch.messages) {
    const result = await decode(message);
    if (result.ok) decoded.push({ message, value: result.value });
    else {
      const deadLetter = deadLetterMessage(
        { ...message, topic: batch.topic, partition: batch.partition },
        { reason: result.reason, stage: result.stage, consumerGroup },
      );
      poison.push({ message, reason: result.reason, deadLetter });
    }
  }
  return { decoded, poison };
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
      const { decoded, poison } = await decodeOrSetAside(batch, options.decode, groupId);
      const good: Delivered<T>[] = decoded.map(({ message, value }) => ({
        value,
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
      }));
      for (const { message, reason } of poison) {
        logger.warn({ event: 'consumer.dead_letter', topic: batch.topic, partition: batch.partition, offset: message.offset, reason });
      }
      if (poison.length > 0)
        await deadLetters.send({ topic: options.deadLetterTopic, messages: poison.map((p) => p.deadLetter), acks: -1 });
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
