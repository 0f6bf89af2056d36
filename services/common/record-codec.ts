/**
 * Journeyline's own records on Kafka (schemas/topic-records.ts): registered under the topic's
 * subject, encoded in the Confluent wire format, decoded with this build's schema as the reader
 * and checked against the zod record. What does not decode or validate is reported as poison with
 * the field named, never thrown; a registry that does not answer is thrown (a retry will succeed).
 */
import { COMPATIBILITY, SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { recordTypeOf } from '../../schemas/avro-logical-types.ts';
import { TOPIC_RECORDS, type RecordOf, type TopicRecord, type TopicWithRecord } from '../../schemas/topic-records.ts';
import { valueSubjectOf, type Topics, type TopicSpec } from '../../schemas/topics.ts';
import { createAvroDecoder, type Decodable } from './avro-decoder.ts';
import { deadLetter, ok, type Decoded } from './step-result.ts';
import { zodReason } from './json-record.ts';
import { retryWithBackoff } from './retry.ts';

export class SchemaIncompatibleError extends Error {
  override readonly name = 'SchemaIncompatibleError';
  readonly retriable = false;
}

/**
 * The registry client registers a new subject's first schema and then sets its compatibility. Two
 * writers registering a new subject at once (threads or replicas of one service starting) race:
 * the second reads the level as NONE in between and is refused, or both set it and the registry
 * refuses the second (Apicurio: 409, "A rule named 'COMPATIBILITY' already exists"). Tried again,
 * each finds the subject BACKWARD with its schema registered.
 */
const isConcurrentFirstRegistration = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ConfluentSchemaRegistryCompatibilityError') return error.message.endsWith('!= NONE)');
  const { status, url } = error as { status?: unknown; url?: unknown };
  return status === 409 && typeof url === 'string' && url.startsWith('put ') && url.includes('/config/');
};

/**
 * Registers a topic's value schema with BACKWARD compatibility (the subject's setting when new);
 * the id of an identical registered schema when there is one. A schema the registry refuses as
 * incompatible raises SchemaIncompatibleError.
 */
export async function registerValueSchema(registry: SchemaRegistry, topic: TopicSpec, schema: object): Promise<number> {
  const subject = valueSubjectOf(topic);
  try {
    const { id } = await retryWithBackoff(
      () =>
        registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.BACKWARD }),
      { isRetryable: isConcurrentFirstRegistration, firstBackoffMs: 100, maxBackoffMs: 1000, attempts: 6 },
    );
    return id;
  } catch (error: unknown) {
    if ((error as { status?: unknown }).status === 409) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new SchemaIncompatibleError(
        `the registry refused the schema for subject ${subject}: it is not BACKWARD compatible with the registered versions ` +
          `(add fields only with defaults; never remove or retype one). Registry said: ${detail}`,
        { cause: error },
      );
    }
    throw error;
  }
}

const MAGIC_BYTE = 0;

/**
 * Encodes values of `type` after a fixed prefix (the Confluent header, a format version) into one
 * buffer of their own. avsc's toBuffer encodes into a 1 KiB buffer (a larger value twice), then
 * zero-fills and copies a new one, and the prefix was concatenated in front with a third: here a
 * scratch buffer that grows as needed, and one copy out of it per value.
 */
export function prefixedEncoder(type: avro.Type, prefix: Buffer): (value: unknown) => Buffer {
  const withPrefix = (size: number) => {
    const buffer = Buffer.allocUnsafe(size);
    prefix.copy(buffer);
    return buffer;
  };
  let scratch = withPrefix(64 * 1024);
  return (value) => {
    let end = type.encode(value, scratch, prefix.length);
    // A negative end is the bytes the value did not fit by.
    if (end < 0) {
      scratch = withPrefix(Math.max(2 * scratch.length, scratch.length - end));
      end = type.encode(value, scratch, prefix.length);
    }
    return Buffer.from(scratch.subarray(0, end));
  };
}

/** The Confluent wire format's header of a record under a registered schema id: magic byte, id. */
function confluentHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return header;
}

/** Values of `type` in the Confluent wire format under a registered schema id: magic byte, id, Avro. */
export const confluentEncoder = (type: avro.Type, schemaId: number): ((value: unknown) => Buffer) =>
  prefixedEncoder(type, confluentHeader(schemaId));

/** The Confluent wire format of a record under a registered schema id: magic byte, id, Avro. */
export function recordEncoder<T>(contract: TopicRecord<T>, schemaId: number): (value: T) => Buffer {
  const encode = confluentEncoder(recordTypeOf(contract.avsc), schemaId);
  return (value) => encode(contract.toWire(value));
}

export function recordDecoder<T>(registry: SchemaRegistry, contract: TopicRecord<T>): (message: Decodable) => Promise<Decoded<T>> {
  const decodeAvro = createAvroDecoder(registry, recordTypeOf(contract.avsc));
  return async (message) => {
    const decoded = await decodeAvro(message.value);
    if (decoded.kind !== 'ok') return decoded;
    const checked = contract.record.safeParse(contract.fromWire(decoded.value));
    if (!checked.success) return deadLetter(zodReason(checked.error), 'validate');
    return ok(checked.data);
  };
}

/** An encoder per topic a service writes. */
export type TopicEncoders<K extends TopicWithRecord> = { readonly [P in K]: (value: RecordOf<P>) => Buffer };

/** Registers the schemas of the topics a service writes (at its start) and returns their encoders. */
export async function registerTopicEncoders<K extends TopicWithRecord>(
  registry: SchemaRegistry,
  topics: Topics,
  keys: readonly K[],
): Promise<TopicEncoders<K>> {
  const ids = new Map(
    await Promise.all(keys.map(async (key) => [key, await registerValueSchema(registry, topics[key], TOPIC_RECORDS[key].avsc)] as const)),
  );
  return encodersOf(keys, (key) => ids.get(key) as number);
}

/** The encoders of topics whose schema ids are known (a benchmark without a registry passes its own). */
export function encodersOf<K extends TopicWithRecord>(keys: readonly K[], schemaIdOf: (key: K) => number): TopicEncoders<K> {
  return Object.fromEntries(
    keys.map((key) => [key, recordEncoder(TOPIC_RECORDS[key] as TopicRecord<unknown>, schemaIdOf(key))]),
  ) as unknown as TopicEncoders<K>;
}
