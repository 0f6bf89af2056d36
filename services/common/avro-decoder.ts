/**
 * Confluent wire format in, a value of the reader's schema out. Poison (not our format, a schema id
 * the registry does not know, bytes that do not decode) is reported as data for the caller to
 * dead-letter; a registry that does not answer is thrown, because retrying later will succeed.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { deadLetter, ok, type Decoded } from './step-result.ts';

/** The part of a Kafka message a decoder reads. */
export interface Decodable {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** Pure: the schema id of a Confluent-framed message, or why it is not one. */
export function readWireHeader(buffer: Buffer | null): { schemaId: number } | { error: string } {
  if (buffer === null || buffer.length === 0) return { error: 'empty message value' };
  if (buffer.length < HEADER_BYTES) return { error: `value of ${buffer.length} byte(s) is too short for the Confluent wire format` };
  if (buffer[0] !== MAGIC_BYTE) return { error: `value does not start with the Confluent magic byte 0 (got ${buffer[0]})` };
  return { schemaId: buffer.readInt32BE(1) };
}

/**
 * The registry client's own `decode` rebuilds the reader type and the writer→reader resolver for
 * every message (most of the processor's CPU when profiled); here the reader type is built once
 * and one resolver is kept per writer schema id.
 */
export function createAvroDecoder(registry: SchemaRegistry, readerType: avro.Type): (buffer: Buffer | null) => Promise<Decoded<unknown>> {
  // A writer schema this reader cannot read makes every message written with it poison; that
  // verdict is as permanent as the schema id, so it is remembered like a resolver.
  type Reader = { readonly kind: 'ok'; readonly decode: (payload: Buffer) => unknown } | ReturnType<typeof unreadable>;
  const unreadable = (reason: string) => deadLetter(reason, 'decode');
  const readers = new Map<number, Promise<Reader>>();
  const readerFor = (schemaId: number) => {
    let reader = readers.get(schemaId);
    if (reader === undefined) {
      reader = registry.getSchema(schemaId).then((writer): Reader => {
        if (!(writer instanceof avro.Type)) return unreadable(`schema id ${schemaId} is not an Avro schema`);
        if (readerType.equals(writer)) return { kind: 'ok', decode: (payload) => readerType.fromBuffer(payload) as unknown };
        try {
          const resolved = readerType.createResolver(writer);
          return { kind: 'ok', decode: (payload) => readerType.fromBuffer(payload, resolved) as unknown };
        } catch (error: unknown) {
          return unreadable(
            `schema id ${schemaId} cannot be read as this build's schema: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      });
      readers.set(schemaId, reader);
      // A failed lookup (registry down) must be retried next time, not remembered.
      reader.catch(() => readers.delete(schemaId));
    }
    return reader;
  };
  return async (buffer) => {
    const header = readWireHeader(buffer);
    if ('error' in header) return deadLetter(header.error, 'decode');
    let reader: Reader;
    try {
      reader = await readerFor(header.schemaId);
    } catch (error: unknown) {
      if ((error as { status?: unknown }).status === 404)
        return deadLetter(`schema id ${header.schemaId} is unknown to the registry`, 'decode');
      throw error; // registry trouble: transient
    }
    if (reader.kind !== 'ok') return reader;
    try {
      return ok(reader.decode((buffer as Buffer).subarray(HEADER_BYTES)));
    } catch (error: unknown) {
      const detail = error instanceof Error ? error.message : String(error);
      return deadLetter(`Avro decoding with schema id ${header.schemaId} failed: ${detail}`, 'decode');
    }
  };
}
