/** Kafka bytes → a validated JourneyEvent (or an event's identity), or the reason it is poison; for every events consumer. */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import {
  EVENT_IDENTITY_AVSC,
  JOURNEY_EVENT_AVSC,
  fromAvro,
  identityFromAvro,
  type EventIdentity,
  type FieldError,
  type JourneyEvent,
} from '../../schemas/event-contract.ts';
import { createAvroDecoder, type Decodable } from './avro-decoder.ts';
import { deadLetter, ok, type Decoded } from './step-result.ts';

/**
 * Decodes with `avsc` as the reader schema, so events written under a later (BACKWARD compatible)
 * version still decode here, their new fields dropped; then checks the record with `validate`.
 */
function validatingDecoder<T>(
  registry: SchemaRegistry,
  avsc: Readonly<Record<string, unknown>>,
  validate: (record: unknown) => { ok: true; value: T } | { ok: false; errors: readonly FieldError[] },
): (message: Decodable) => Promise<Decoded<T>> {
  const decodeAvro = createAvroDecoder(registry, avro.Type.forSchema(avsc as avro.Schema));
  return async (message) => {
    const decoded = await decodeAvro(message.value);
    if (decoded.kind !== 'ok') return decoded;
    const validated = validate(decoded.value);
    if (!validated.ok) return deadLetter(validated.errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'validate');
    return ok(validated.value);
  };
}

/** The whole event, by every rule of the contract (fromAvro). */
export const createJourneyEventDecoder = (registry: SchemaRegistry): ((message: Decodable) => Promise<Decoded<JourneyEvent>>) =>
  validatingDecoder(registry, JOURNEY_EVENT_AVSC, (record) => {
    const validated = fromAvro(record);
    return validated.ok ? { ok: true, value: validated.event } : validated;
  });

/**
 * An event's ids and time (EVENT_IDENTITY_AVSC), checked by the contract's id rules: for the
 * identity step, which routes by them and forwards the bytes untouched; the rest of the event is
 * left undecoded for the journey step to check.
 */
export const createEventIdentityDecoder = (registry: SchemaRegistry): ((message: Decodable) => Promise<Decoded<EventIdentity>>) =>
  validatingDecoder(registry, EVENT_IDENTITY_AVSC, (record) => {
    const validated = identityFromAvro(record);
    return validated.ok ? { ok: true, value: validated.identity } : validated;
  });
