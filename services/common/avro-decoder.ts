/**
 * Confluent wire format in, a value of the reader's schema out. Poison (not our format, a schema id
 * the registry does not know, bytes that do not decode) is reported as data for the caller to
 * dead-letter; a registry that does not answer is thrown, because retrying later will succeed.
 */
import { SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';

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

export function createAvroDecoder(registry: SchemaRegistry, readerSchema: object): (buffer: Buffer | null) => Promise<Decoded> {
  const options = { [SchemaType.AVRO]: { readerSchema: readerSchema as never } };
  return async (buffer) => {
    const header = readWireHeader(buffer);
    if ('error' in header) return { ok: false, reason: header.error };
    try {
      return { ok: true, value: (await registry.decode(buffer as Buffer, options)) as unknown };
    } catch (error: unknown) {
      const status = (error as { status?: unknown }).status;
      if (status === 404) return { ok: false, reason: `schema id ${header.schemaId} is unknown to the registry` };
      if (typeof status === 'number' || error instanceof TypeError) throw error; // registry trouble: transient
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: `Avro decoding with schema id ${header.schemaId} failed: ${detail}` };
    }
  };
}
