/**
 * The delivery of a consumer whose writes downstream are idempotent (the sink's inserts carry
 * deduplication tokens, the notifier's POSTs a delivery id): at least once. What a batch sets aside
 * (dead letters) goes out first, on an idempotent producer with every replica's ack; the batch's
 * outputs go out before its offsets are committed. Offsets are committed as kafkajs commits them
 * (`as-resolved`: after each batch), or by the step itself (`by-step`: the sink's block intents,
 * the notifier's oldest undelivered record), through the runner's `commitOffset`.
 * A crash re-reads from the last commit, so a step must take a batch twice without harm.
 */
import type { TopicMessages } from 'kafkajs';
import type { SendingProducer } from './renewing-producer.ts';
import type { Delivery } from './stream-runner.ts';

export class AtLeastOnce implements Delivery<undefined> {
  readonly autoCommit: boolean;
  private readonly producer: SendingProducer;

  /** `producer`: idempotent (a RenewingProducer), connected and disconnected by the caller. */
  constructor(producer: SendingProducer, offsets: 'as-resolved' | 'by-step') {
    this.producer = producer;
    this.autoCommit = offsets === 'as-resolved';
  }

  assigned(): void {}

  // kafkajs hands a partition's batches over one at a time.
  inTurn<R>(_topic: string, _partition: number, work: () => Promise<R>): Promise<R> {
    return work();
  }

  acquire(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async sendNow(outputs: readonly TopicMessages[]): Promise<void> {
    if (outputs.length > 0) await this.producer.sendBatch({ topicMessages: [...outputs], acks: -1 });
  }

  commit(_context: undefined, _batch: unknown, outputs: readonly TopicMessages[]): Promise<void> {
    return this.sendNow(outputs);
  }

  failed(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
