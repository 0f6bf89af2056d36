/**
 * What the processor's two steps (identity and journey) share: the consumer settings they run
 * with, and how each is run — its own consumer group over one input topic, exactly once per
 * partition (common/owned-partitions.ts), its dead letters in the batch's transaction.
 */
import type { ConsumerConfig, Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import type { OwnedPartition, OwnedPartitions } from '../common/owned-partitions.ts';
import { consumerSettings, StreamRunner, type StreamStep } from '../common/stream-runner.ts';

export const processorConsumerConfig = (groupId: string, settings: Config['processor']): ConsumerConfig =>
  consumerSettings(groupId, settings.sessionTimeoutMs, {
    maxBytesPerPartition: settings.maxBytesPerPartition,
    // Fuller batches at live rates; a stop waits for an idle fetch too, so the wait stays short.
    minBytes: settings.minBytes,
    maxWaitTimeInMs: settings.maxWaitMs,
  });

/** One of the processor's steps, ready to start: `step` over `input` in group `groupId`, on `partitions`. */
export function processorStepRunner<T, S>(
  deps: { readonly kafka: Kafka; readonly config: Config; readonly logger: Logger },
  run: {
    readonly groupId: string;
    readonly input: string;
    readonly deadLetterTopic: string;
    readonly step: StreamStep<T, OwnedPartition<S>>;
    readonly partitions: OwnedPartitions<S>;
  },
): StreamRunner<T, OwnedPartition<S>> {
  return new StreamRunner({
    consumer: deps.kafka.consumer(processorConsumerConfig(run.groupId, deps.config.processor)),
    topics: [run.input],
    groupId: run.groupId,
    deadLetterTopic: run.deadLetterTopic,
    step: run.step,
    delivery: run.partitions,
    logger: deps.logger,
    outageToleranceMs: deps.config.kafka.outageToleranceMs,
  });
}
