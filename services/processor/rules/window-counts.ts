/**
 * The counters of one daily KPI window (a segment on a day), what an event adds to them (a delta),
 * the arithmetic that adds one into the other, and their JSON. Pure.
 */
import { ALL_SEGMENTS } from '../../../schemas/event-contract.ts';
import { EMPTY_COUNTS, type KpiCounts } from './kpis.ts';
import type { Day } from './calendar.ts';

/** Integer counters of one window; KpiCounts less what is computed at emission. */
export type WindowCounts = Omit<KpiCounts, 'dormantCustomers'> & {
  /** Transitions that happened in the window, by stage reached. */
  readonly transitionsTo: Readonly<Record<string, number>>;
  /**
   * Revenue per ISO 4217 currency, in ten-thousandths: amounts in different currencies are never
   * added up (revenueMinor, their plain sum, means something only in a one-currency segment).
   */
  readonly revenueByCurrency: Readonly<Record<string, bigint>>;
  /** Orders per ISO 4217 currency: with revenueByCurrency, the average order value of each currency. */
  readonly ordersByCurrency: Readonly<Record<string, number>>;
  /** Social engagements per network (a closed list: SOCIAL_NETWORKS). */
  readonly socialByNetwork: Readonly<Record<string, number>>;
};
export type WindowDelta = Partial<WindowCounts>;

export interface WindowKey {
  readonly segment: string;
  readonly day: Day;
}

export const windowKeyOf = (segment: string, day: Day): string => `${segment}|${day}`;
export function parseWindowKey(key: string): WindowKey {
  const cut = key.lastIndexOf('|');
  return { segment: key.slice(0, cut), day: key.slice(cut + 1) };
}

/** The windows an event of `segment` counts in: its segment's and all segments' together. */
export const segmentsOf = (segment: string): string[] => (segment === ALL_SEGMENTS ? [ALL_SEGMENTS] : [segment, ALL_SEGMENTS]);

const plus = (a: unknown, b: number | bigint): number | bigint =>
  typeof b === 'bigint' ? ((a as bigint | undefined) ?? 0n) + b : ((a as number | undefined) ?? 0) + b;

type DeltaValue = number | bigint | Readonly<Record<string, number | bigint>>;

/**
 * Adds `delta` into `counts` in place, field by field: counts, money (bigint), and maps of either
 * by key. `counts` and the maps the delta touches must be the caller's own. Per event: no closures,
 * no entry arrays.
 */
export function addDeltaInto(counts: WindowDelta, delta: WindowDelta): void {
  const target = counts as Record<string, unknown>;
  const fields = delta as Readonly<Record<string, DeltaValue | undefined>>;
  for (const field in fields) {
    const value = fields[field];
    if (value === undefined) continue;
    if (typeof value !== 'object') {
      target[field] = plus(target[field], value);
      continue;
    }
    const into = (target[field] ??= {}) as Record<string, unknown>;
    for (const key in value) into[key] = plus(into[key], value[key] as number | bigint);
  }
}

/** Adds `delta` to the delta of window `key` in `deltas`: those deltas are made here, so they are changed in place. */
export function addDelta(deltas: Map<string, WindowDelta>, key: string, delta: WindowDelta): void {
  let into = deltas.get(key);
  if (into === undefined) {
    into = {};
    deltas.set(key, into);
  }
  addDeltaInto(into, delta);
}

const { dormantCustomers: _computedAtEmission, ...emptyCounts } = EMPTY_COUNTS;
export const EMPTY_WINDOW: WindowCounts = {
  ...emptyCounts,
  transitionsTo: {},
  revenueByCurrency: {},
  ordersByCurrency: {},
  socialByNetwork: {},
};

/**
 * A window's counts to add deltas into in place (addDeltaInto): its maps are copied too, so
 * counts handed out before (a published KPI record) never change. One copy per window per batch
 * instead of one per event per window.
 */
export function ownCopyOf(counts: WindowCounts): WindowCounts {
  const copy: Record<string, unknown> = { ...counts };
  for (const field in copy) if (typeof copy[field] === 'object' && copy[field] !== null) copy[field] = { ...copy[field] };
  return copy as WindowCounts;
}

/** A window's counts as JSON (the changelog, the published KPI record): money as decimal strings of ten-thousandths. */
export function windowCountsToJson(counts: WindowCounts): Record<string, unknown> {
  const revenueByCurrency = Object.fromEntries(
    Object.entries(counts.revenueByCurrency).map(([currency, minor]) => [currency, minor.toString()]),
  );
  return { ...counts, revenueMinor: counts.revenueMinor.toString(), revenueByCurrency };
}

export function windowCountsFromJson(json: Record<string, unknown>): WindowCounts {
  const byCurrency = (json.revenueByCurrency ?? {}) as Record<string, string>;
  // Before scales, CSAT and CES sums were in points (all on 5): the same in thousandths.
  const { csatSum, cesSum, ...current } = json;
  const inPoints = (name: string, points: unknown) => (typeof points === 'number' ? { [name]: points * 1000 } : {});
  return {
    // Counters added since the record was written start at 0.
    ...EMPTY_WINDOW,
    ...inPoints('csatSumMilli', csatSum),
    ...inPoints('cesSumMilli', cesSum),
    ...(current as unknown as WindowCounts),
    revenueMinor: BigInt(json.revenueMinor as string),
    revenueByCurrency: Object.fromEntries(Object.entries(byCurrency).map(([currency, minor]) => [currency, BigInt(minor)])),
  };
}
