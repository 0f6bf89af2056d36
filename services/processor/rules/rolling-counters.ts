/**
 * One segment's rolling counters (rolling.ts decides each event's steps): the counts folded in from
 * window ends gone by, and the steps since; the counts of any window end are their sum. Pure.
 */
import { dayNumber, type Day } from './calendar.ts';
import { tally } from './tally.ts';
import {
  RETURN_FIELDS,
  ROLLING_FIELDS,
  seriesOf,
  type Range,
  type RollingCounts,
  type RollingDelta,
  type RollingField,
  type RollingLength,
  type RollingSeries,
  type RollingSteps,
} from './rolling.ts';

/**
 * The window ends (an inclusive range of day numbers) whose counts `steps` may change: from the
 * first step to the day before the last. Every series' steps add up to zero (each covered range
 * is a +1 and a −1), so no count changes from the last step on.
 */
export function touchedSpan(delta: RollingDelta): Range | null {
  let [from, to] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  delta.forEach((pairs) => {
    for (let i = 0; i < pairs.length; i += 2) {
      const day = pairs[i] as number;
      if (day < from) from = day;
      if (day - 1 > to) to = day - 1;
    }
  });
  return from <= to ? [from, to] : null;
}

/** One segment's rolling counters: what has been folded in from days gone, and the steps since. */
export interface SegmentRolling {
  readonly base: Map<RollingSeries, number>;
  readonly steps: RollingSteps;
}

export const newSegmentRolling = (): SegmentRolling => ({ base: new Map(), steps: new Map() });

/** Adds an event's steps to a segment's counters, in place. */
export function addSteps(into: SegmentRolling, delta: RollingDelta): void {
  delta.forEach((pairs, series) => {
    const target = into.steps.get(series) ?? new Map<number, number>();
    for (let i = 0; i < pairs.length; i += 2) tally(target, pairs[i] as number, pairs[i + 1] as number);
    into.steps.set(series, target);
  });
}

/** The counts of the windows ending on `end`. */
export function rollingAt(state: SegmentRolling | undefined, end: Day): RollingCounts {
  const e = dayNumber(end);
  const count = (series: RollingSeries) => {
    let n = state?.base.get(series) ?? 0;
    state?.steps.get(series)?.forEach((by, day) => {
      if (day <= e) n += by;
    });
    return n;
  };
  const of = <F extends RollingField>(fields: readonly F[], length: 1 | RollingLength) => {
    const counts = {} as Record<F, number>;
    for (const field of fields) counts[field] = count(seriesOf(field, length));
    return counts;
  };
  return { '1': of(RETURN_FIELDS, 1), '7': of(ROLLING_FIELDS, 7), '30': of(ROLLING_FIELDS, 30) };
}

/** Folds the steps of window ends before `day` into the base, in place; true if any moved. */
export function foldBefore(state: SegmentRolling, day: Day): boolean {
  const cut = dayNumber(day);
  let moved = false;
  state.steps.forEach((steps, series) => {
    steps.forEach((n, d) => {
      if (d >= cut) return;
      state.base.set(series, (state.base.get(series) ?? 0) + n);
      steps.delete(d);
      moved = true;
    });
  });
  return moved;
}

/** JSON for the changelog, and back. */
export function rollingToJson(state: SegmentRolling): string {
  return JSON.stringify({
    base: Object.fromEntries(state.base),
    steps: Object.fromEntries([...state.steps].map(([s, m]) => [s, Object.fromEntries(m)])),
  });
}
export function rollingFromJson(json: string): SegmentRolling {
  const parsed = JSON.parse(json) as { base: Record<string, number>; steps: Record<string, Record<string, number>> };
  return {
    base: new Map(Object.entries(parsed.base) as [RollingSeries, number][]),
    steps: new Map(
      Object.entries(parsed.steps).map(([s, m]) => [s as RollingSeries, new Map(Object.entries(m).map(([d, n]) => [Number(d), n]))]),
    ),
  };
}

export const EMPTY_ROLLING: RollingCounts = rollingAt(undefined, '1970-01-01');
