/** Builds the dead-letter copy of a message: key, value and headers untouched, the reason added. */
import type { IHeaders, Message } from 'kafkajs';

export interface DeadLetterNames {
  readonly reason: string;
  readonly stage: string;
  readonly sourceTopic: string;
  readonly sourcePartition: string;
  readonly sourceOffset: string;
  readonly consumerGroup: string;
  readonly failedAt: string;
}

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
  failure: { reason: string; stage: string; consumerGroup: string; at: number },
  names: DeadLetterNames,
): Message {
  return {
    key: poison.key,
    value: poison.value,
    timestamp: poison.timestamp,
    headers: {
      ...poison.headers,
      [names.reason]: failure.reason,
      [names.stage]: failure.stage,
      [names.sourceTopic]: poison.topic,
      [names.sourcePartition]: String(poison.partition),
      [names.sourceOffset]: poison.offset,
      [names.consumerGroup]: failure.consumerGroup,
      [names.failedAt]: new Date(failure.at).toISOString(),
    },
  };
}
