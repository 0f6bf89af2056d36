/**
 * The producer library backends import (and the collector and `journey produce` use): validates
 * each event, encodes the valid ones with the registered Avro schema (Confluent wire format) and
 * produces them to the events topic, keyed by customer so one customer's events stay in order.
 *
 * Contract:
 * - One bad event never costs its neighbours: `send` answers per event, in input order.
 * - A repeated event_id within one call is produced once; across calls, downstream consumers
 *   dedupe by event_id (it is the idempotency key), so retrying a failed call is safe.
 * - The Kafka producer is idempotent (acks=all, one request in flight per broker), so a
 *   retried batch neither duplicates nor reorders within a partition.
 * - If Kafka refuses the batch, `send` throws `ProduceError` and none of it counts as accepted.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { Kafka, Message } from 'kafkajs';
import { ensureTopics } from '../common/kafka.ts';
import { RenewingProducer } from '../common/renewing-producer.ts';
import type { Config } from '../common/config.ts';
import {
  JOURNEY_EVENT_AVSC,
  partitionKeyOf,
  toAvro,
  validateEvent,
  type AvroJourneyEvent,
  type EventTimeBounds,
  type ValidationContext,
  type FieldError,
  type JourneyEvent,
} from '../../schemas/event-contract.ts';
import type { Topics } from '../../schemas/topics.ts';
import { confluentEncoder, registerValueSchema } from '../common/record-codec.ts';

export { SchemaIncompatibleError } from '../common/record-codec.ts';

export type EventResult =
  | { readonly index: number; readonly status: 'accepted'; readonly event_id: string; readonly duplicate: boolean }
  | { readonly index: number; readonly status: 'rejected'; readonly event_id: string | undefined; readonly errors: readonly FieldError[] };

export interface SendOutcome {
  readonly accepted: number;
  readonly rejected: number;
  readonly results: readonly EventResult[];
}

export class ProduceError extends Error {
  override readonly name = 'ProduceError';
  readonly retriable = true;
}

export interface EventProducerOptions {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly kafkaSettings: Config['kafka'];
  readonly topics: Topics;
  /** How far from the time of receipt an event time may be (config.events). */
  readonly eventTime: EventTimeBounds;
  readonly now?: () => number;
}

/**
 * Registers the event schema under the events topic's subject, with BACKWARD compatibility on
 * a new subject. A schema the registry refuses as incompatible raises SchemaIncompatibleError.
 */
export const registerEventSchema = (registry: SchemaRegistry, topics: Topics, schema: object = JOURNEY_EVENT_AVSC): Promise<number> =>
  registerValueSchema(registry, topics.events, schema);

/** Pure: validates a batch, dropping repeated event_ids after the first. */
export function validateBatch(inputs: readonly unknown[], context: ValidationContext): { results: EventResult[]; events: JourneyEvent[] } {
  const seen = new Set<string>();
  const events: JourneyEvent[] = [];
  const results = inputs.map((input, index): EventResult => {
    const validation = validateEvent(input, context);
    if (!validation.ok) {
      const id = (input as { event_id?: unknown } | null)?.event_id;
      return { index, status: 'rejected', event_id: typeof id === 'string' ? id : undefined, errors: validation.errors };
    }
    const { event } = validation;
    const duplicate = seen.has(event.event_id);
    if (!duplicate) {
      seen.add(event.event_id);
      events.push(event);
    }
    return { index, status: 'accepted', event_id: event.event_id, duplicate };
  });
  return { results, events };
}

/** The events schema as this build writes it: the one registered at connect. */
const JOURNEY_EVENT_TYPE = avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema);

export class EventProducer {
  private readonly options: EventProducerOptions;
  private readonly producer: RenewingProducer;
  private readonly encode: (event: AvroJourneyEvent) => Buffer;

  private constructor(options: EventProducerOptions, producer: RenewingProducer, schemaId: number) {
    this.options = options;
    this.producer = producer;
    // The schema this build registered, by the id the registry gave it: no lookup per event.
    this.encode = confluentEncoder(JOURNEY_EVENT_TYPE, schemaId);
  }

  /** Creates the topics if missing, registers the schema, connects. */
  static async connect(options: EventProducerOptions): Promise<EventProducer> {
    await ensureTopics(options.kafka, options.kafkaSettings, [options.topics.events, options.topics.deadLetter]);
    const schemaId = await registerEventSchema(options.registry, options.topics);
    const producer = RenewingProducer.idempotent(options.kafka);
    await producer.connect();
    return new EventProducer(options, producer, schemaId);
  }

  async send(inputs: readonly unknown[]): Promise<SendOutcome> {
    const now = (this.options.now ?? Date.now)();
    const { results, events } = validateBatch(inputs, { now, ...this.options.eventTime });
    if (events.length > 0) {
      const messages: Message[] = events.map((event) => ({ key: partitionKeyOf(event), value: this.encode(toAvro(event)) }));
      try {
        await this.producer.send({ topic: this.options.topics.events.name, messages, acks: -1 });
      } catch (error: unknown) {
        throw new ProduceError(
          `Kafka did not take ${messages.length} event(s): ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
          },
        );
      }
    }
    const accepted = results.filter((r) => r.status === 'accepted').length;
    return { accepted, rejected: results.length - accepted, results };
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
