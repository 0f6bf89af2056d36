/**
 * Confluent wire format in, a value of the reader's schema out. Poison (not our format, a schema id
 * the registry does not know, bytes that do not decode) is reported as data for the caller to
 * dead-letter; a registry that does not answer is thrown, because retrying later will succeed.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';

export type Decoded = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

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
export function createAvroDecoder(registry: SchemaRegistry, readerSchema: object): (buffer: Buffer | null) => Promise<Decoded> {
  const readerType = avro.Type.forSchema(readerSchema as avro.Schema);
  const resolvers = new Map<number, Promise<(payload: Buffer) => unknown>>();
  const resolverFor = (schemaId: number) => {
    let resolver = resolvers.get(schemaId);
    if (resolver === undefined) {
      resolver = registry.getSchema(schemaId).then((writer) => {
        if (!(writer instanceof avro.Type)) throw new TypeError(`schema id ${schemaId} is not an Avro schema`);
        if (readerType.equals(writer)) return (payload: Buffer): unknown => readerType.fromBuffer(payload) as unknown;
        const resolved = readerType.createResolver(writer);
        return (payload: Buffer): unknown => readerType.fromBuffer(payload, resolved) as unknown;
      });
      resolvers.set(schemaId, resolver);
      // A failed lookup (registry down) must be retried next time, not remembered.
      resolver.catch(() => resolvers.delete(schemaId));
    }
    return resolver;
  };
  return async (buffer) => {
    const header = readWireHeader(buffer);
    if ('error' in header) return { ok: false, reason: header.error };
    let decode: (payload: Buffer) => unknown;
    try {
      decode = await resolverFor(header.schemaId);
    } catch (error: unknown) {
      const status = (error as { status?: unknown }).status;
      if (status === 404) return { ok: false, reason: `schema id ${header.schemaId} is unknown to the registry` };
      if (error instanceof TypeError && error.message.includes('not an Avro schema')) return { ok: false, reason: error.message };
      throw error; // registry trouble: transient
    }
    try {
      return { ok: true, value: decode((buffer as Buffer).subarray(HEADER_BYTES)) };
    } catch (error: unknown) {
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: `Avro decoding with schema id ${header.schemaId} failed: ${detail}` };
    }
  };
}
