import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { MAX_CHECKOUT_SIGNALS, NO_CHECKOUTS, checkoutStep, pruneCheckouts, type CheckoutTrack } from './checkouts.ts';
import type { Day } from './calendar.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-11-10T10:00:00Z');
const AFTER = HOUR;

const fields = (minutes: number) => ({ at: T0 + minutes * MINUTE, received_at: T0, customer_id: 'c', session_id: 's', channel: 'web' });
const checkout = (minutes: number): JourneyEvent => journeyEvent('cart', fields(minutes), { action: 'checkout_started' });
const checkoutPage = (minutes: number): JourneyEvent =>
  journeyEvent('page_view', fields(minutes), { url: 'https://shop.example/checkout', page_type: 'checkout' });
const purchase = (minutes: number): JourneyEvent => journeyEvent('purchase', fields(minutes));

const windowsOf = (segment: string, day: Day) => [`${segment}|${day}`, `*|${day}`];

/** Applies events in order; returns what the windows hold (the deltas added up) and the track. */
function run(events: readonly JourneyEvent[], track: CheckoutTrack = NO_CHECKOUTS) {
  const windows: Record<string, { started: number; completed: number }> = {};
  for (const event of events) {
    const step = checkoutStep({ track, event, segment: event.segment ?? 'smb', abandonedAfterMs: AFTER, timeZone: 'UTC', windowsOf });
    track = step.track;
    for (const [key, delta] of step.deltas) {
      const window = windows[key] ?? { started: 0, completed: 0 };
      windows[key] = { started: window.started + delta.checkoutsStarted, completed: window.completed + delta.checkoutsCompleted };
    }
  }
  const nonZero = Object.fromEntries(Object.entries(windows).filter(([, w]) => w.started !== 0 || w.completed !== 0));
  return { windows: nonZero, track };
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i] as T, ...rest];
  }
}

describe('checkouts', () => {
  it('completes a checkout with a purchase within the time, and abandons one without', () => {
    expect(run([checkout(0), purchase(30)]).windows).toEqual({
      'smb|2026-11-10': { started: 1, completed: 1 },
      '*|2026-11-10': { started: 1, completed: 1 },
    });
    expect(run([checkout(0), purchase(61)]).windows['smb|2026-11-10']).toEqual({ started: 1, completed: 0 });
    expect(run([checkout(0)]).windows['smb|2026-11-10']).toEqual({ started: 1, completed: 0 });
    // A purchase before the checkout completes nothing.
    expect(run([purchase(0), checkout(5)]).windows['smb|2026-11-10']).toEqual({ started: 1, completed: 0 });
  });

  it('counts the page view and the cart event of one checkout, and a reload, as one checkout', () => {
    expect(run([checkoutPage(0), checkout(0), checkoutPage(2), purchase(10)]).windows['smb|2026-11-10']).toEqual({
      started: 1,
      completed: 1,
    });
    // After the purchase, or once the first timed out, a signal starts another.
    expect(run([checkout(0), purchase(10), checkout(20)]).windows['smb|2026-11-10']).toEqual({ started: 2, completed: 1 });
    expect(run([checkout(0), checkout(61)]).windows['smb|2026-11-10']).toEqual({ started: 2, completed: 0 });
  });

  it('counts the same whatever order the events arrive in (a late purchase turns an abandoned checkout into a completed one)', () => {
    const events = [checkoutPage(0), checkout(1), purchase(40), checkout(50), checkout(200), purchase(330), checkoutPage(1400)];
    const expected = run(events).windows;
    expect(expected['smb|2026-11-10']).toEqual({ started: 3, completed: 1 });
    expect(expected['smb|2026-11-11']).toEqual({ started: 1, completed: 0 });
    for (const order of permutations(events)) expect(run(order).windows).toEqual(expected);
  });

  it('counts a checkout on the day it started, in the segment of its first signal', () => {
    const lateEvening = { ...checkout(13 * 60 + 50), segment: 'enterprise' };
    const { windows } = run([lateEvening, purchase(14 * 60 + 20)]);
    expect(windows).toEqual({ 'enterprise|2026-11-10': { started: 1, completed: 1 }, '*|2026-11-10': { started: 1, completed: 1 } });
  });

  it('forgets checkouts whose days closed without counting them again, and a signal inside one starts none', () => {
    const { track, windows } = run([checkout(0), checkout(30)]);
    expect(windows['smb|2026-11-10']).toEqual({ started: 1, completed: 0 });
    const pruned = pruneCheckouts(track, T0 + 10 * MINUTE, { abandonedAfterMs: AFTER, timeZone: 'UTC', windowsOf });
    expect(pruned).toEqual({ signals: [], purchases: [], absorbedUntil: T0 + HOUR, counted: {} });
    // A late signal inside the forgotten checkout, and a purchase after it: nothing changes.
    expect(run([checkout(45), purchase(50)], pruned).windows).toEqual({});
    // One after it is a checkout of its own.
    expect(run([checkout(70)], pruned).windows['smb|2026-11-10']).toEqual({ started: 1, completed: 0 });
  });

  it('keeps at most MAX_CHECKOUT_SIGNALS signals and purchases, however many a client sends', () => {
    const events = Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? checkout(i * 2) : purchase(i * 2 + 1)));
    const { track, windows } = run(events);
    expect(track.signals.length).toBeLessThanOrEqual(MAX_CHECKOUT_SIGNALS);
    expect(track.purchases.length).toBeLessThanOrEqual(MAX_CHECKOUT_SIGNALS);
    const buyer = run(Array.from({ length: 300 }, (_, i) => purchase(i)));
    expect([buyer.track.signals.length, buyer.track.purchases.length, buyer.windows]).toEqual([0, MAX_CHECKOUT_SIGNALS, {}]);
    // Each checkout was completed by the purchase a minute later: all counted, once, over the two days.
    expect([windows['smb|2026-11-10'], windows['smb|2026-11-11']]).toEqual([
      { started: 210, completed: 210 },
      { started: 40, completed: 40 },
    ]);
  });
});
