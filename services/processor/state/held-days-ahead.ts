/**
 * The days after tomorrow whose rolling counts changed but whose KPI records a partition has not
 * published yet (day numbers, per segment): a flush may hold them back, and they go out with a
 * later one or alone (days-ahead-hold.ts decides when). In the changelog, so a new owner publishes
 * what an earlier one held.
 */
import { changelogKey, type ChangelogRecord } from './changelog-keys.ts';
import type { DaySpan } from './rolling-book.ts';

export class HeldDaysAhead {
  private spans = new Map<string, DaySpan>();

  get size(): number {
    return this.spans.size;
  }

  entries(): IterableIterator<[string, DaySpan]> {
    return this.spans.entries();
  }

  /** Holds `held` back from now on: the changelog record that says so, if it changed. */
  replace(held: Map<string, DaySpan>): ChangelogRecord | undefined {
    const json = (spans: Map<string, DaySpan>) => JSON.stringify(Object.fromEntries(spans));
    if (json(held) === json(this.spans)) return undefined;
    this.spans = held;
    return { key: changelogKey.heldAhead, value: held.size === 0 ? null : json(held) };
  }

  restore(value: string | null): void {
    this.spans = new Map(value === null ? [] : Object.entries(JSON.parse(value) as Record<string, DaySpan>));
  }
}
