/**
 * How far the detector may judge: a watermark released only at a consistent cut of the topic.
 *
 * The processor publishes a window's final KPI record and its own progress (a `*` KPI record of the next
 * day) in one transaction, but they land on different partitions of segment-kpis, which a consumer
 * reads independently. A watermark seen on one partition may so run ahead of KPI records still unread
 * on another, and a day judged then would be judged on stale KPI records (a rolling count published
 * ahead of its day, say). So a watermark is released only once every partition has been read up to
 * where it ended when the watermark was seen: by then every transaction that was committed then,
 * the one that moved the watermark among them, has been read whole. The ends are the high
 * watermarks (everything written), not the stable offsets: another producer's transaction still
 * open holds a partition's stable offset below the records of one committed after it. Pure: the
 * ends come from the caller.
 */
import type { Day } from '../../schemas/days.ts';

export class ConsistentCut {
  /** Per partition, the next offset to read: everything before it has been taken in. */
  private readonly readTo = new Map<number, bigint>();
  private pending: { readonly day: Day; readonly ends: ReadonlyMap<number, bigint> } | undefined;
  private releasedDay: Day | undefined;

  /** The newest watermark released: days before it may be judged. */
  get released(): Day | undefined {
    return this.releasedDay;
  }

  /** Everything of `partition` before `next` has been taken in (record or transaction marker). */
  read(partition: number, next: bigint): void {
    if ((this.readTo.get(partition) ?? -1n) < next) this.readTo.set(partition, next);
  }

  /** The watermark `candidate` was seen; `endsNow` are the partitions' ends (read committed) as of now. */
  async observe(candidate: Day | undefined, endsNow: () => Promise<ReadonlyMap<number, bigint>>): Promise<void> {
    this.settle();
    if (this.pending !== undefined || candidate === undefined) return;
    if (this.releasedDay !== undefined && candidate <= this.releasedDay) return;
    this.pending = { day: candidate, ends: await endsNow() };
    this.settle();
  }

  /** Releases the pending watermark if every partition has been read to its end; true if it did. */
  settle(): boolean {
    const pending = this.pending;
    if (pending === undefined) return false;
    for (const [partition, end] of pending.ends) if ((this.readTo.get(partition) ?? 0n) < end) return false;
    this.releasedDay = pending.day;
    this.pending = undefined;
    return true;
  }
}
