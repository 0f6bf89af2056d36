/** Kafka bytes → a validated JourneyEvent, or the reason it is poison; for every events consumer. */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import {
  EVENT_IDENTITY_AVSC,
  JOURNEY_EVENT_AVSC,
  fromAvro,
  identityFromAvro,
  type EventIdentity,
  type JourneyEvent,
} from '../../schemas/event-contract.ts';
import { createAvroDecoder } from './avro-decoder.ts';
import type { Decodable, DecodeResult } from './decoding-consumer.ts';

/**
 * Decodes with this build's schema as the reader schema, so events written under a later
 * (BACKWARD compatible) version still decode here, their new fields dropped.
 */
export function createJourneyEventDecoder(registry: SchemaRegistry): (message: Decodable) => Promise<DecodeResult<JourneyEvent>> {
  const decodeAvro = createAvroDecoder(registry, avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema));
  return async (message) => {
    const decoded = await decodeAvro(message.value);
    if (!decoded.ok) return { ok: false, reason: decoded.reason, stage: 'decode' };
    const validated = fromAvro(decoded.value);
    if (!validated.ok) {
      return { ok: false, reason: validated.errors.map((e) => `${e.path}: ${e.message}`).join('; '), stage: 'validate' };
    }
    return { ok: true, value: validated.event };
  };
}

/**
 * Kafka bytes → an event's ids and time (EVENT_IDENTITY_AVSC), checked by the contract's id rules,
 * or the reason it is poison: for the identity step, which routes by them and forwards the bytes
 * untouched; the rest of the event is left undecoded for the journey step to check.
 */
export function createEventIdentityDecoder(registry: SchemaRegistry): (message: Decodable) => Promise<DecodeResult<EventIdentity>> {
  const decodeAvro = createAvroDecoder(registry, avro.Type.forSchema(EVENT_IDENTITY_AVSC as avro.Schema));
  return async (message) => {
    const decoded = await decodeAvro(message.value);
    if (!decoded.ok) return { ok: false, reason: decoded.reason, stage: 'decode' };
    const validated = identityFromAvro(decoded.value);
    if (!validated.ok) {
      return { ok: false, reason: validated.errors.map((e) => `${e.path}: ${e.message}`).join('; '), stage: 'validate' };
    }
    return { ok: true, value: validated.identity };
  };
}
