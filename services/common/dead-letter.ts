/**
 * Builds the dead-letter copy of a message: key, value and headers untouched, the reason and the
 * origin added (header names: DEAD_LETTER_HEADERS in schemas/topics.ts). `failed.at` is the
 * record's own time, so a batch processed again after a crash sets aside identical copies.
 */
import type { IHeaders, Message } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../../schemas/topics.ts';

export interface PoisonMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  readonly timestamp: string;
}

export function deadLetterMessage(
  poison: PoisonMessage,
  failure: { readonly reason: string; readonly stage: string; readonly consumerGroup: string },
): Message {
  return {
    key: poison.key,
    value: poison.value,
    timestamp: poison.timestamp,
    headers: {
      ...poison.headers,
      [DEAD_LETTER_HEADERS.reason]: failure.reason,
      [DEAD_LETTER_HEADERS.stage]: failure.stage,
      [DEAD_LETTER_HEADERS.sourceTopic]: poison.topic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(poison.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: poison.offset,
      [DEAD_LETTER_HEADERS.consumerGroup]: failure.consumerGroup,
      [DEAD_LETTER_HEADERS.failedAt]: new Date(Number(poison.timestamp)).toISOString(),
    },
  };
}
