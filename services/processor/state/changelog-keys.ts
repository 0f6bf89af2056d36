/**
 * The key scheme of the processor changelog (a compacted topic, one record per key, latest wins):
 * which part of a partition's state a record holds. Written by PartitionState.flush, read back by
 * PartitionState.restore; this module is the only place that spells the keys.
 */
export type ChangelogPart =
  | { readonly kind: 'customer'; readonly customer: string }
  | { readonly kind: 'window'; readonly window: string }
  | { readonly kind: 'rolling'; readonly segment: string }
  | { readonly kind: 'streamTime' }
  | { readonly kind: 'heldAhead' };

export const changelogKey = {
  customer: (customer: string) => `c|${customer}`,
  window: (window: string) => `w|${window}`,
  rolling: (segment: string) => `r|${segment}`,
  streamTime: 't|stream',
  heldAhead: 'h|ahead',
} as const;

/** The part a key names; undefined for a key this version does not know (skipped on restore). */
export function changelogPartOf(key: string): ChangelogPart | undefined {
  const rest = key.slice(2);
  if (key === changelogKey.streamTime) return { kind: 'streamTime' };
  if (key === changelogKey.heldAhead) return { kind: 'heldAhead' };
  if (key.startsWith('c|')) return { kind: 'customer', customer: rest };
  if (key.startsWith('w|')) return { kind: 'window', window: rest };
  if (key.startsWith('r|')) return { kind: 'rolling', segment: rest };
  return undefined;
}

/** A changelog record: key, and value (bytes or JSON) or null for a tombstone. */
export interface ChangelogRecord {
  readonly key: string;
  /** A customer's state as bytes (customer-codec.ts); windows, rolling counters and stream time as JSON. */
  readonly value: string | Buffer | null;
}
