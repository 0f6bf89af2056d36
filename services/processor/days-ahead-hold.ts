/**
 * When a partition's KPI records of the days after tomorrow go out (PROCESSOR_FAR_AHEAD_EVERY_MS;
 * state/partition-state.ts holds them back): with a batch once the interval has passed since they
 * last went out, else alone from a timer once the partition has gone quiet holding some. Wall-clock
 * time decides only when KPI records go out, never what they hold.
 */
export class DaysAheadHold {
  private readonly everyMs: number;
  private readonly publish: (partition: number) => Promise<void>;
  private readonly lastOut = new Map<number, number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();

  /** `publish` sends a partition's held days alone, between its batches (and says so itself if it fails). */
  constructor(everyMs: number, publish: (partition: number) => Promise<void>) {
    this.everyMs = everyMs;
    this.publish = publish;
  }

  /** Whether a batch of `partition` publishes its days ahead now; if it does, they count as out. */
  due(partition: number): boolean {
    const now = performance.now();
    const last = this.lastOut.get(partition);
    if (this.everyMs > 0 && last !== undefined && now - last < this.everyMs) return false;
    this.lastOut.set(partition, now);
    return true;
  }

  /** After a batch that left days held: they go out when the interval is up, if no batch took them first. */
  later(partition: number): void {
    if (this.timers.has(partition)) return;
    const wait = Math.max(0, (this.lastOut.get(partition) ?? 0) + this.everyMs - performance.now());
    const timer = setTimeout(() => {
      this.timers.delete(partition);
      this.lastOut.set(partition, performance.now());
      void this.publish(partition);
    }, wait);
    timer.unref();
    this.timers.set(partition, timer);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
