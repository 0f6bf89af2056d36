/**
 * A long-lived idempotent producer that replaces itself when the broker lost track of it. After a
 * broker froze, kafkajs's idempotent producer can answer every send "out of order sequence number"
 * for ever (a request that timed out was written after all); only a new producer id sends again.
 * The replacement is made on the next send, and made again if Kafka is still away. Messages sent
 * again across the switch may be stored twice: everything journeyline sends on one is folded by
 * its id downstream (event ids, dead letters' origin, alert ids).
 */
import type { Kafka, Producer, ProducerBatch, ProducerRecord, RecordMetadata } from 'kafkajs';
import { createIdempotentProducer } from './kafka.ts';
import { producerStateLost } from './transient-faults.ts';

/** The part of a producer that AtLeastOnce, the event producer and the notifier use. */
export type SendingProducer = Pick<Producer, 'connect' | 'disconnect' | 'send' | 'sendBatch'>;

export class RenewingProducer implements SendingProducer {
  private readonly make: () => Producer;
  private producer: Producer;
  /** A new producer being connected, or one still to be made (its connect failed: Kafka was away). */
  private renewal: Promise<void> | 'due' | undefined;

  /** `make`: a new idempotent producer each time it is called. */
  constructor(make: () => Producer) {
    this.make = make;
    this.producer = make();
  }

  static idempotent(kafka: Kafka): RenewingProducer {
    return new RenewingProducer(() => createIdempotentProducer(kafka));
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async disconnect(): Promise<void> {
    if (this.renewal instanceof Promise) await this.renewal.catch(() => undefined);
    await this.producer.disconnect();
  }

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sending((producer) => producer.send(record));
  }

  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    return this.sending((producer) => producer.sendBatch(batch));
  }

  private async sending(send: (producer: Producer) => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    await this.renewed();
    try {
      return await send(this.producer);
    } catch (error: unknown) {
      if (producerStateLost(error)) this.renewal ??= 'due';
      throw error;
    }
  }

  private async renewed(): Promise<void> {
    if (this.renewal === 'due') {
      const previous = this.producer;
      const next = this.make();
      this.renewal = next.connect().then(
        () => {
          this.producer = next;
          this.renewal = undefined;
          void previous.disconnect().catch(() => undefined);
        },
        (error: unknown) => {
          this.renewal = 'due';
          throw error;
        },
      );
    }
    await this.renewal;
  }
}
