/**
 * A JSON record checked against its zod schema, never throwing: whatever a topic holds (a broken
 * producer's bytes, a record of another version), the reason names what is wrong. Pure; the
 * consumers' decoders (record-codec.ts) and the restores of compacted topics share it.
 */
import type { z } from 'zod';

export type JsonRecord<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly stage: 'decode' | 'validate' };

export function parseJsonRecord<T>(schema: z.ZodType<T>, bytes: Buffer | string | null): JsonRecord<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes?.toString() ?? '');
  } catch (error: unknown) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}`, stage: 'decode' };
  }
  const checked = schema.safeParse(parsed);
  if (checked.success) return { ok: true, value: checked.data };
  return { ok: false, reason: zodReason(checked.error), stage: 'validate' };
}

/** Every issue of a failed zod check, each with the path of its field. */
export const zodReason = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
