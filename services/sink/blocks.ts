/**
 * Insert blocks as offset ranges, pure.
 *
 * A block is every record of one topic-partition from `from` (the committed position) to `to`.
 * Before inserting it, the sink commits `from` again with the range as offset metadata (the
 * intent); after ClickHouse acknowledges, it commits `to + 1`. A sink that dies in between
 * restarts at `from`, finds the intent, and rebuilds exactly that range — same rows, same
 * deduplication token — so ClickHouse drops the replayed block instead of storing it twice.
 */
export interface BlockRange {
  readonly from: bigint;
  readonly to: bigint;
}

const INTENT = /^journeyline-sink-block:(\d+)-(\d+)$/;

export const intentMetadata = (range: BlockRange): string => `journeyline-sink-block:${range.from}-${range.to}`;

export function parseIntent(metadata: string | null | undefined): BlockRange | null {
  const match = INTENT.exec(metadata ?? '');
  if (match?.[1] === undefined || match[2] === undefined) return null;
  return { from: BigInt(match[1]), to: BigInt(match[2]) };
}

/**
 * The token names the Kafka cluster too: a recreated cluster restarts offsets at 0 while ClickHouse
 * may keep its data, and new records must not pass for old blocks.
 */
export const deduplicationToken = (clusterId: string, topic: string, partition: number, range: BlockRange): string =>
  `${clusterId}/${topic}/${partition}/${range.from}-${range.to}`;

export type BlockPlan =
  | { readonly kind: 'insert'; readonly range: BlockRange; readonly replay: boolean }
  | { readonly kind: 'wait_for_rest'; readonly range: BlockRange };

/**
 * Which range to insert for a fetched batch whose last record is at `lastOffset`, reading from
 * `position` (null: nothing committed yet, so the batch's first offset), given a pending intent.
 */
export function planBlock(position: bigint | null, firstOffset: bigint, lastOffset: bigint, intent: BlockRange | null): BlockPlan {
  const from = position ?? firstOffset;
  if (intent !== null && intent.from === from) {
    // The replay of a block that may have reached ClickHouse: exactly that range, or read on to its end.
    return lastOffset < intent.to ? { kind: 'wait_for_rest', range: intent } : { kind: 'insert', range: intent, replay: true };
  }
  return { kind: 'insert', range: { from, to: lastOffset }, replay: false };
}
