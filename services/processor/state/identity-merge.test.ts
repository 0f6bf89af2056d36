import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import type { SegmentKpiRecord } from '../../../schemas/processor-outputs.ts';
import { PartitionState } from './partition-state.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';
import { processorRules } from '../../../test/helpers/processor-rules.ts';

// Lateness wide enough that no window closes in any arrival order: what is compared is the merge.
const RULES = processorRules({ timeZone: 'Asia/Tehran', allowedLatenessMs: 20 * 24 * 3600 * 1000 });
const ANON = 'anon:دستگاه-۷';
const CUSTOMER = 'مریم';

/** The input position a flush covers, as the consumer passes its offsets: higher at every flush. */
let position = 0;
type Ids = { anon?: boolean; customer?: boolean };
const fields = (when: string, ids: Ids, session: string) => ({
  at: when,
  customer_id: ids.customer ? CUSTOMER : null,
  anonymous_id: ids.anon ? 'دستگاه-۷' : null,
  session_id: session,
  channel: 'web',
});
const view = (when: string, ids: Ids, session: string, page_type: 'home' | 'pricing' | 'support' = 'pricing') =>
  journeyEvent('page_view', fields(when, ids, session), { url: 'https://x.example', page_type, duration_ms: 1000, cta_shown: true });
const signup = (when: string) =>
  journeyEvent('form_submission', fields(when, { anon: true, customer: true }, 's-link'), {
    form_type: 'signup',
    referral_source: 'instagram',
  });
const buy = (when: string, ids: Ids) => journeyEvent('purchase', fields(when, ids, 's-buy'), { amount: '120.5', currency: 'IRR' });
const checkout = (when: string, ids: Ids) => journeyEvent('cart', fields(when, ids, 's-cart'), { action: 'checkout_started' });

/** A journey: browsing anonymously on two days, a checkout, signing up, buying; the customer's own visits. */
function journey() {
  const link = signup('2026-11-22T11:00:00Z');
  const anonymous = [
    view('2026-11-20T09:00:00Z', { anon: true }, 's-a1', 'home'),
    view('2026-11-20T09:05:00Z', { anon: true }, 's-a1'),
    view('2026-11-22T10:00:00Z', { anon: true }, 's-a2'),
    checkout('2026-11-22T10:30:00Z', { anon: true }),
    view('2026-11-25T08:00:00Z', { anon: true }, 's-a3', 'support'),
  ];
  const own = [
    view('2026-11-22T12:00:00Z', { customer: true }, 's-c1'),
    buy('2026-11-22T10:50:00Z', { customer: true }),
    view('2026-11-24T12:00:00Z', { customer: true }, 's-a2'),
    buy('2026-11-26T12:00:00Z', { anon: true, customer: true }),
  ];
  return { link, events: [...anonymous, ...own] };
}

type Partial = SegmentKpiRecord;
/** The latest KPI record per (segment, day, partition): what a reader of the compacted topic keeps. */
function collect(latest: Map<string, Partial>, flushed: readonly Partial[]) {
  for (const w of flushed) latest.set(`${w.segment}|${w.day}|${w.partition}`, w);
}
/** The windows summed over partitions, less what this test does not compare. */
function summed(latest: Map<string, Partial>) {
  const out: Record<string, Record<string, number>> = {};
  for (const w of latest.values()) {
    const into = (out[`${w.segment}|${w.day}`] ??= {});
    const numbers = { ...w.counts, revenueMinor: Number(w.counts.revenueMinor) } as Record<string, number>;
    for (const [field, n] of Object.entries(numbers)) into[field] = (into[field] ?? 0) + n;
    for (const [length, counts] of Object.entries(w.rolling))
      for (const [field, n] of Object.entries(counts)) into[`${field}:${length}`] = (into[`${field}:${length}`] ?? 0) + n;
  }
  // Days with nothing counted are the same as days not published.
  return Object.fromEntries(Object.entries(out).filter(([, counts]) => Object.values(counts).some((n) => n !== 0)));
}
/**
 * Stage transitions per segment over all days: a person reaches each stage once. (On which day
 * depends on arrival order, as for one identity: a stage is counted on the day of the event that
 * reached it.)
 */
function transitionsTotal(latest: Map<string, Partial>) {
  const out: Record<string, Record<string, number>> = {};
  for (const w of latest.values())
    for (const [stage, n] of Object.entries(w.transitions_to)) {
      const into = (out[w.segment] ??= {});
      into[stage] = (into[stage] ?? 0) + n;
    }
  return out;
}

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31), s / 2 ** 31);
}
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Every event as one customer's, on one partition, in time order: what the stitched runs must add up to. */
function asOnePerson(events: readonly JourneyEvent[]) {
  const state = new PartitionState(0, RULES);
  const latest = new Map<string, Partial>();
  for (const e of [...events].sort((a, b) => a.occurred_at - b.occurred_at)) state.apply(CUSTOMER, e);
  const flushed = state.flush(++position);
  collect(latest, flushed.windows);
  return {
    windows: summed(latest),
    transitions: transitionsTotal(latest),
    profile: flushed.profiles.find((p) => p.customer_id === CUSTOMER),
  };
}

/**
 * The stream as the identity step routes it, in `arrival` order: the visitor's events to its own
 * partition until the first event with both ids (the link), the link's merge command there, the handover to the customer's
 * partition, everything of the visitor after that to the customer. Flushed after every message,
 * as if each were a batch of its own.
 */
function stitched(arrival: readonly JourneyEvent[]) {
  const visitor = new PartitionState(1, RULES);
  const customer = new PartitionState(2, RULES);
  const latest = new Map<string, Partial>();
  const outcomes: string[] = [];
  let linked = false;
  let profile: unknown;
  const flush = (state: PartitionState) => {
    const flushed = state.flush(++position);
    collect(latest, flushed.windows);
    for (const p of flushed.profiles) if (p.customer_id === CUSTOMER) profile = p;
  };
  for (const e of arrival) {
    if (!linked && e.customer_id !== null && e.anonymous_id !== null) {
      linked = true;
      const handed = visitor.handOver(ANON);
      flush(visitor);
      outcomes.push(customer.apply(CUSTOMER, e));
      flush(customer);
      if (handed !== null)
        customer.merge(CUSTOMER, handed, { at: e.occurred_at, event_id: e.event_id }, { maxAnonymousIds: 100, returned: false });
      flush(customer);
      continue;
    }
    const toCustomer = e.customer_id !== null || linked;
    outcomes.push(toCustomer ? customer.apply(CUSTOMER, e) : visitor.apply(ANON, e));
    flush(toCustomer ? customer : visitor);
  }
  return { windows: summed(latest), transitions: transitionsTotal(latest), profile, outcomes };
}

describe('identity stitching: an anonymous visitor merged into the customer', () => {
  const { link, events } = journey();
  const all = [...events, link];
  const reference = asOnePerson(all);

  it('counts one person in every daily and rolling window, whatever the arrival order and wherever the link falls', () => {
    const random = rng(42);
    const orders = [all, [link, ...events], [...events, link], ...Array.from({ length: 100 }, () => shuffled(all, random))];
    for (const arrival of orders) {
      const run = stitched(arrival);
      expect(run.windows).toStrictEqual(reference.windows);
      expect(run.outcomes.every((o) => o === 'applied')).toBe(true);
    }
  });

  it('counts each stage the person reached once in transitions_to, though both identities reached some before the link', () => {
    const stages = { discovery: 1, consideration: 1, conversion: 1, ongoing_engagement: 1 };
    expect(reference.transitions).toStrictEqual({ smb: stages, '*': stages });
    const random = rng(11);
    for (const arrival of [all, [link, ...events], [...events, link], ...Array.from({ length: 100 }, () => shuffled(all, random))])
      expect(stitched(arrival).transitions).toStrictEqual(reference.transitions);
  });

  it('ends as one profile: the stage over the union, counts added, first seen the earliest, money exact', () => {
    expect(reference.profile).toMatchObject({ stage: 'ongoing_engagement', page_views: 6, purchases: 2, revenue: '241.00' });
    const random = rng(7);
    for (const arrival of [[link, ...events], [...events, link], ...Array.from({ length: 50 }, () => shuffled(all, random))]) {
      const { stage_since: _s, ...profile } = stitched(arrival).profile as Record<string, unknown>;
      const { stage_since: _r, ...expected } = reference.profile as Record<string, unknown>;
      expect(profile).toStrictEqual(expected);
    }
  });

  it('recognises a replay across the two ids: an event sent anonymously and again after the link counts once', () => {
    const anonymousView = events[0] as JourneyEvent;
    const run = stitched([anonymousView, link, { ...anonymousView }]);
    expect(run.outcomes).toStrictEqual(['applied', 'applied', 'duplicate']);
  });

  it('refuses a merge past the cap without changing the customer, and takes a handed-back state back as it was', () => {
    const visitor = new PartitionState(1, RULES);
    const customer = new PartitionState(2, RULES);
    visitor.apply(ANON, events[0] as JourneyEvent);
    customer.apply(CUSTOMER, link);
    visitor.flush(++position);
    const before = customer.flush(++position);
    const handed = visitor.handOver(ANON) as Buffer;
    const tombstone = visitor.flush(++position).changelog.find((r) => r.key === `c|${ANON}`);
    expect(tombstone).toStrictEqual({ key: `c|${ANON}`, value: null });
    expect(
      customer.merge(CUSTOMER, handed, { at: link.occurred_at, event_id: link.event_id }, { maxAnonymousIds: 0, returned: false }),
    ).toBe('overflow');
    expect(customer.flush(++position).profiles).toStrictEqual([]);
    expect(visitor.merge(ANON, handed, { at: link.occurred_at, event_id: link.event_id }, { maxAnonymousIds: 0, returned: true })).toBe(
      'merged',
    );
    const back = visitor.flush(++position);
    expect(back.profiles).toMatchObject([{ customer_id: ANON, page_views: 1, stage: 'discovery' }]);
    expect(back.windows.every((w) => Number(w.counts.visitors) >= 0)).toBe(true);
    expect(before.profiles).toMatchObject([{ customer_id: CUSTOMER }]);
  });
});
