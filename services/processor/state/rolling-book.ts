/**
 * A partition's rolling distinct counters per segment (rules/rolling-counters.ts), and the window
 * ends each segment's counts moved at since the last flush: those days are published again.
 */
import type { Day } from '../rules/calendar.ts';
import type { RollingDelta } from '../rules/rolling.ts';
import {
  addSteps,
  foldBefore,
  newSegmentRolling,
  rollingAt,
  rollingFromJson,
  rollingToJson,
  touchedSpan,
  type SegmentRolling,
} from '../rules/rolling-counters.ts';
import type { RollingCounts } from '../rules/rolling.ts';

/** Days from `from` to `to`, as day numbers. */
export interface DaySpan {
  readonly from: number;
  readonly to: number;
}

/** Widens a segment's span of day numbers to take in [from, to]. */
export function widen(spans: Map<string, DaySpan>, segment: string, from: number, to: number): void {
  if (from > to) return;
  const span = spans.get(segment);
  if (span === undefined) spans.set(segment, { from, to });
  else spans.set(segment, { from: Math.min(span.from, from), to: Math.max(span.to, to) });
}

export class RollingBook {
  private readonly counters = new Map<string, SegmentRolling>();
  /** Segments whose counters changed, with the first and last window end (day numbers) that moved. */
  readonly moved = new Map<string, { from: number; to: number }>();

  segments(): IterableIterator<string> {
    return this.counters.keys();
  }

  /** The counts of a segment's windows ending on `day`. */
  at(segment: string, day: Day): RollingCounts {
    return rollingAt(this.counters.get(segment), day);
  }

  /** Adds rolling steps per segment, remembering the window ends they moved. */
  add(steps: ReadonlyMap<string, RollingDelta>): void {
    // Steps at closed window ends are harmless: only open windows are ever read from them.
    for (const [segment, delta] of steps) {
      const counters = this.counters.get(segment) ?? newSegmentRolling();
      addSteps(counters, delta);
      this.counters.set(segment, counters);
      const moved = this.moved.get(segment) ?? { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
      const span = touchedSpan(delta);
      if (span !== null) {
        moved.from = Math.min(moved.from, span[0]);
        moved.to = Math.max(moved.to, span[1]);
      }
      this.moved.set(segment, moved);
    }
  }

  /** Folds the steps of window ends before `day` (no longer open) into each segment's base: a segment folded is written again. */
  foldBefore(day: Day): void {
    for (const [segment, counters] of this.counters) {
      if (foldBefore(counters, day) && !this.moved.has(segment)) this.moved.set(segment, { from: 0, to: -1 });
    }
  }

  /** The changelog records of the segments that changed. */
  changelogOfMoved(keyOf: (segment: string) => string): { key: string; value: string }[] {
    const records: { key: string; value: string }[] = [];
    for (const segment of this.moved.keys()) {
      const counters = this.counters.get(segment);
      if (counters !== undefined) records.push({ key: keyOf(segment), value: rollingToJson(counters) });
    }
    return records;
  }

  restore(segment: string, value: string | null): void {
    if (value === null) this.counters.delete(segment);
    else this.counters.set(segment, rollingFromJson(value));
  }

  clearChanges(): void {
    this.moved.clear();
  }
}
