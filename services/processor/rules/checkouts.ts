/**
 * Checkouts and their abandonment, as a function of the SET of a customer's checkout signals and
 * purchases, so arrival order does not change what is counted.
 *
 * A checkout signal is a cart event `checkout_started` or a view of a checkout page. A checkout
 * starts with a signal outside any open checkout, and is open until the first purchase at or after
 * its start, or for `abandonedAfterMs` when none comes: signals while it is open (the page view and
 * the cart event a backend sends for one click, a reload) are that checkout, not new ones. It is
 * completed when that purchase comes within `abandonedAfterMs`, and abandoned otherwise. Each
 * counts on the day it started, in the segment of its first signal.
 *
 * What is counted is kept per window; each change of the signals or purchases recomputes the
 * checkouts and emits only the difference, so a late purchase moves a checkout from abandoned to
 * completed in the window where it was counted. Pure.
 */
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { dayOf, laterTime, type Day } from './calendar.ts';

export interface CheckoutTrack {
  /** Checkout signals as [event time, segment], by time. */
  readonly signals: readonly (readonly [number, string])[];
  /** Purchase times from the earliest signal kept on, by time. */
  readonly purchases: readonly number[];
  /** Signals up to this time belong to a checkout no longer kept (pruned): they start none. */
  readonly absorbedUntil: number | null;
  /** What the kept checkouts count now, per `segment|day` window: [started, completed]. */
  readonly counted: Readonly<Record<string, readonly [number, number]>>;
}

export const NO_CHECKOUTS: CheckoutTrack = { signals: [], purchases: [], absorbedUntil: null, counted: {} };

/** Signals and purchases kept per customer: a client that fires a checkout per request cannot grow the state. */
export const MAX_CHECKOUT_SIGNALS = 64;

export interface CheckoutDelta {
  readonly checkoutsStarted: number;
  readonly checkoutsCompleted: number;
}

interface Checkout {
  readonly start: number;
  readonly segment: string;
  /** The purchase that completed it, or its start plus the timeout. */
  readonly end: number;
  readonly completed: boolean;
  /** Index of its last signal in `signals`. */
  readonly lastSignal: number;
}

export const isCheckoutSignal = (event: JourneyEvent): boolean =>
  (event.type === 'cart' && event.properties.action === 'checkout_started') ||
  (event.type === 'page_view' && event.properties.page_type === 'checkout');

function checkoutsOf(track: CheckoutTrack, abandonedAfterMs: number): Checkout[] {
  const checkouts: Checkout[] = [];
  let openUntil = track.absorbedUntil;
  let purchase = 0;
  track.signals.forEach(([at, segment], index) => {
    if (openUntil !== null && at <= openUntil) {
      const open = checkouts.at(-1);
      if (open !== undefined) checkouts[checkouts.length - 1] = { ...open, lastSignal: index };
      return;
    }
    while (purchase < track.purchases.length && (track.purchases[purchase] ?? 0) < at) purchase++;
    const next = track.purchases[purchase];
    const completed = next !== undefined && next <= at + abandonedAfterMs;
    const end = completed ? next : at + abandonedAfterMs;
    checkouts.push({ start: at, segment, end, completed, lastSignal: index });
    openUntil = end;
  });
  return checkouts;
}

function countsOf(
  checkouts: readonly Checkout[],
  windowsOf: (segment: string, day: Day) => readonly string[],
  timeZone: string,
): Record<string, [number, number]> {
  const counted: Record<string, [number, number]> = {};
  for (const checkout of checkouts) {
    for (const key of windowsOf(checkout.segment, dayOf(checkout.start, timeZone))) {
      const [started, completed] = counted[key] ?? [0, 0];
      counted[key] = [started + 1, completed + (checkout.completed ? 1 : 0)];
    }
  }
  return counted;
}

function insertSorted<T>(list: readonly T[], item: T, timeOf: (item: T) => number): T[] {
  const at = timeOf(item);
  const index = list.findIndex((other) => timeOf(other) > at);
  return index < 0 ? [...list, item] : [...list.slice(0, index), item, ...list.slice(index)];
}

export interface CheckoutStepInput {
  readonly track: CheckoutTrack;
  readonly event: JourneyEvent;
  readonly segment: string;
  readonly abandonedAfterMs: number;
  readonly timeZone: string;
  /** The windows a checkout of a segment and day counts in (its segment's and `*`). */
  readonly windowsOf: (segment: string, day: Day) => readonly string[];
}

/** One event's effect on the customer's checkouts: the new track, and what changed per window. */
export function checkoutStep(input: CheckoutStepInput): { track: CheckoutTrack; deltas: Map<string, CheckoutDelta> } {
  const { event, track } = input;
  const deltas = new Map<string, CheckoutDelta>();
  const signal = isCheckoutSignal(event);
  if (!signal && event.type !== 'purchase') return { track, deltas };

  let next: CheckoutTrack = signal
    ? { ...track, signals: insertSorted(track.signals, [event.occurred_at, input.segment] as const, ([at]) => at) }
    : { ...track, purchases: insertSorted(track.purchases, event.occurred_at, (at) => at) };
  // Over the bound, the earliest checkout goes as if it had aged out, and the earliest purchases.
  if (next.signals.length > MAX_CHECKOUT_SIGNALS) {
    const [earliest] = checkoutsOf(next, input.abandonedAfterMs);
    if (earliest !== undefined) next = forget(next, [earliest], input);
  }
  if (next.purchases.length > MAX_CHECKOUT_SIGNALS) next = { ...next, purchases: next.purchases.slice(-MAX_CHECKOUT_SIGNALS) };
  return recounted(next, input);
}

type RecountInput = Pick<CheckoutStepInput, 'abandonedAfterMs' | 'timeZone' | 'windowsOf'>;

/** The checkouts of `track`'s signals and purchases counted afresh, and how that differs from what `track.counted` says. */
function recounted(track: CheckoutTrack, input: RecountInput): { track: CheckoutTrack; deltas: Map<string, CheckoutDelta> } {
  const deltas = new Map<string, CheckoutDelta>();
  const counted = countsOf(checkoutsOf(track, input.abandonedAfterMs), input.windowsOf, input.timeZone);
  for (const key of new Set([...Object.keys(track.counted), ...Object.keys(counted)])) {
    const [wasStarted, wasCompleted] = track.counted[key] ?? [0, 0];
    const [started, completed] = counted[key] ?? [0, 0];
    if (started !== wasStarted || completed !== wasCompleted) {
      deltas.set(key, { checkoutsStarted: started - wasStarted, checkoutsCompleted: completed - wasCompleted });
    }
  }
  return { track: { ...track, counted }, deltas };
}

/**
 * Two identities' checkouts as one person's (identity stitching): their signals and purchases
 * together, counted afresh against what `into` counted (the anonymous side's counts were taken back
 * by its own partition), so a checkout a visitor started and the customer completed is completed.
 */
export function mergeCheckouts(
  into: CheckoutTrack,
  from: CheckoutTrack,
  input: RecountInput,
): { track: CheckoutTrack; deltas: Map<string, CheckoutDelta> } {
  const byTime =
    <T>(timeOf: (item: T) => number) =>
    (x: T, y: T) =>
      timeOf(x) - timeOf(y);
  const merged: CheckoutTrack = {
    // The latest signals and purchases, as a customer with all of them would have kept.
    signals: [...into.signals, ...from.signals].sort(byTime(([at]) => at)).slice(-MAX_CHECKOUT_SIGNALS),
    purchases: [...into.purchases, ...from.purchases].sort(byTime((at) => at)).slice(-MAX_CHECKOUT_SIGNALS),
    absorbedUntil: laterTime(into.absorbedUntil, from.absorbedUntil),
    counted: into.counted,
  };
  return recounted(merged, input);
}

/**
 * Forgets the checkouts that started before `keepFrom` (their windows can no longer be revised):
 * they stay counted where they were, their signals stop being kept, and the time they were open
 * until is remembered so no signal inside them starts a new one.
 */
export function pruneCheckouts(
  track: CheckoutTrack,
  keepFrom: number,
  input: Pick<CheckoutStepInput, 'abandonedAfterMs' | 'timeZone' | 'windowsOf'>,
): CheckoutTrack {
  const forgotten = checkoutsOf(track, input.abandonedAfterMs).filter((checkout) => checkout.start < keepFrom);
  const pruned = forget(track, forgotten, input);
  // A purchase before every checkout kept can complete none of them.
  const purchases = pruned.purchases.filter((at) => at >= keepFrom);
  return purchases.length === pruned.purchases.length ? pruned : { ...pruned, purchases };
}

function forget(
  track: CheckoutTrack,
  forgotten: readonly Checkout[],
  input: Pick<CheckoutStepInput, 'timeZone' | 'windowsOf'>,
): CheckoutTrack {
  const last = forgotten.at(-1);
  if (last === undefined) return track;
  const gone = countsOf(forgotten, input.windowsOf, input.timeZone);
  const counted: Record<string, readonly [number, number]> = {};
  for (const [key, [started, completed]] of Object.entries(track.counted)) {
    const [goneStarted, goneCompleted] = gone[key] ?? [0, 0];
    if (started - goneStarted > 0) counted[key] = [started - goneStarted, completed - goneCompleted];
  }
  return {
    signals: track.signals.slice(last.lastSignal + 1),
    // Later checkouts start after it closed: a purchase until then completes none of them.
    purchases: track.purchases.filter((at) => at > last.end),
    absorbedUntil: Math.max(track.absorbedUntil ?? last.end, last.end),
    counted,
  };
}
