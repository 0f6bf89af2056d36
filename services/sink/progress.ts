/** Where the sink stands in each topic-partition: committed position, pending block intent, a replay's records so far. */
import type { Admin, KafkaMessage } from 'kafkajs';
import { parseIntent, type BlockRange } from './blocks.ts';

/** A fetched record, with its value if it decoded (undefined: set aside as a dead letter). */
export interface Fetched {
  readonly message: KafkaMessage;
  readonly value: unknown;
}

export interface PartitionProgress {
  position: bigint | null;
  intent: BlockRange | null;
  /** Records of a replayed block fetched so far, while later fetches bring the rest of its range. */
  buffered: Fetched[];
  /** A commit made outside eachBatch (past transaction markers) that the next block must follow. */
  committing: Promise<void>;
}

const noProgressYet = (): PartitionProgress => ({ position: null, intent: null, buffered: [], committing: Promise.resolve() });

/**
 * Where each topic-partition stands: its committed position and pending intent, read from the
 * group's offsets the first time it is seen after a rebalance (another member may have moved them).
 */
export class ProgressBook {
  private readonly known = new Map<string, PartitionProgress>();
  private readonly admin: Admin;
  private readonly groupId: string;

  constructor(admin: Admin, groupId: string) {
    this.admin = admin;
    this.groupId = groupId;
  }

  forget(): void {
    this.known.clear();
  }

  async of(topic: string, partition: number): Promise<PartitionProgress> {
    const key = `${topic}:${partition}`;
    let known = this.known.get(key);
    if (known === undefined) {
      const [committed] = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      const entry = committed?.partitions.find((p) => p.partition === partition);
      const offset = entry === undefined ? -1n : BigInt(entry.offset);
      known = { ...noProgressYet(), position: offset < 0n ? null : offset, intent: parseIntent(entry?.metadata) };
      this.known.set(key, known);
    }
    return known;
  }

  /** The progress of a partition seen in a fetch of transaction markers only; created if new. */
  seen(topic: string, partition: number): PartitionProgress {
    const key = `${topic}:${partition}`;
    const known = this.known.get(key) ?? noProgressYet();
    this.known.set(key, known);
    return known;
  }
}
