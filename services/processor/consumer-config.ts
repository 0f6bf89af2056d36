/** The consumer settings both of the processor's steps (identity and journey) run with. */
import type { ConsumerConfig } from 'kafkajs';
import type { Config } from '../common/config.ts';

export const processorConsumerConfig = (groupId: string, settings: Config['processor']): ConsumerConfig => ({
  groupId,
  readUncommitted: false,
  maxBytesPerPartition: settings.maxBytesPerPartition,
  sessionTimeout: settings.sessionTimeoutMs,
  // Fuller batches at live rates; a stop waits for an idle fetch too, so the wait stays short.
  minBytes: settings.minBytes,
  maxWaitTimeInMs: settings.maxWaitMs,
  heartbeatInterval: Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 5)),
});
