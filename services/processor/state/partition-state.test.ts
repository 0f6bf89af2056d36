import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import type { SegmentKpiRecord } from '../../../schemas/processor-outputs.ts';
import { kpisOf, EMPTY_COUNTS, type KpiCounts } from '../rules/kpis.ts';
import { PartitionState, type ChangelogRecord } from './partition-state.ts';
import { unpackCustomer } from './customer-codec.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';
import { processorRules } from '../../../test/helpers/processor-rules.ts';

const RULES = processorRules();
const at = (iso: string) => Date.parse(iso);
/** The input position a flush covers, as the consumer passes its offsets: higher at every flush. */
let position = 0;

const fields = (customer: string, when: string, segment: string | null) => ({
  at: when,
  customer_id: customer,
  session_id: `${customer}-s1`,
  segment,
  channel: 'web',
});
const view = (c: string, when: string, segment: string | null = 'smb', duration: number | null = 2000): JourneyEvent =>
  journeyEvent('page_view', fields(c, when, segment), {
    url: 'https://x.example',
    page_type: 'pricing',
    duration_ms: duration,
    cta_shown: true,
  });
const buy = (c: string, when: string, amount: string, segment: string | null = 'smb', currency = 'EUR'): JourneyEvent =>
  journeyEvent('purchase', fields(c, when, segment), { amount, currency });
const nps = (c: string, when: string, score: number, comment: string | null = null): JourneyEvent =>
  journeyEvent('survey_response', fields(c, when, 'smb'), { score, comment });
const checkout = (c: string, when: string): JourneyEvent => journeyEvent('cart', fields(c, when, 'smb'), { action: 'checkout_started' });

function kpisFromRecord(counts: Readonly<Record<string, number | string>>, dormant: number) {
  const { revenueMinor, ...rest } = counts;
  return kpisOf({ ...EMPTY_COUNTS, ...(rest as Partial<KpiCounts>), revenueMinor: BigInt(revenueMinor ?? 0), dormantCustomers: dormant });
}

/** The rolling counts of the journey below, whose events all fall on one day. */
const WHOLE_JOURNEY = {
  visitors: 2,
  sessions: 2,
  timedSessions: 2,
  buyers: 1,
  repeatBuyers: 1,
  returningVisitors: 0,
  previousVisitors: 0,
  convertedVisitors: 1,
  windowRepeatBuyers: 1,
};

describe('PartitionState', () => {
  it('turns events into transitions, profiles and exact daily windows', () => {
    const state = new PartitionState(3, RULES);
    const events = [
      view('a', '2026-11-20T09:00:00Z'),
      view('a', '2026-11-20T09:05:00Z', 'smb', null),
      view('b', '2026-11-20T10:00:00Z'),
      buy('a', '2026-11-20T11:00:00Z', '19.99'),
      buy('a', '2026-11-20T12:00:00Z', '5.01'),
      nps('b', '2026-11-20T13:00:00Z', 3, 'Terrible, slow delivery'),
    ];
    expect(events.map((e) => state.apply(e.customer_id ?? '', e))).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const out = state.flush(41);
    expect(out.transitions.map((t) => `${t.customer_id}:${t.from_stage}->${t.to_stage}`)).toEqual([
      'a:unaware->discovery',
      'b:unaware->discovery',
      'a:discovery->conversion',
      'a:conversion->ongoing_engagement',
    ]);
    expect(out.profiles.map((p) => [p.customer_id, p.stage, p.revenue])).toEqual([
      ['a', 'ongoing_engagement', '25.00'],
      ['b', 'discovery', '0.00'],
    ]);
    const smb = out.windows.find((w) => w.segment === 'smb');
    expect(smb && { ...smb, counts: undefined }).toEqual({
      segment: 'smb',
      day: '2026-11-20',
      time_zone: 'UTC',
      partition: 3,
      revision: 41,
      counts: undefined,
      // ann jumped from discovery to conversion: she reached consideration on the way.
      transitions_to: { discovery: 2, consideration: 1, conversion: 1, ongoing_engagement: 1 },
      revenue_by_currency: { EUR: '25.00' },
      orders_by_currency: { EUR: 2 },
      social_by_network: {},
      stage_counts: { ongoing_engagement: 1, discovery: 1 },
      dormant_customers: 0,
      newly_dormant_customers: 0,
      rolling: {
        '1': { returningVisitors: 0, previousVisitors: 0 },
        // The whole journey is one day: the week and the month ending on it hold the same.
        '7': WHOLE_JOURNEY,
        '30': WHOLE_JOURNEY,
      },
      day_reached: true,
    });
    expect(smb && kpisFromRecord(smb.counts, smb.dormant_customers)).toMatchObject({
      visitors: 2,
      sessions: 2,
      page_views: 3,
      pages_per_visit: 1.5,
      avg_time_on_page_s: 2,
      avg_time_on_site_s: 2,
      cta_impressions: 3,
      ctr_pct: 0,
      orders: 2,
      revenue: '25.00',
      aov: '12.50',
      buyers: 1,
      conversion_rate_pct: 50,
      repeat_purchase_rate_pct: 100,
      in_window_repeat_purchase_rate_pct: 100,
      purchase_cycle_days: 0.0833,
      nps: -100,
      nps_responses: 1,
      negative_sentiment_pct: 100,
    });
    expect(out.windows.find((w) => w.segment === '*')?.counts).toEqual(smb?.counts);
  });

  it('keeps money per currency: EUR 100 + JPY 15,000 + KWD 1 is three amounts, not 15101', () => {
    const state = new PartitionState(0, RULES);
    const paid = (amount: string, currency: string) => buy('a', '2026-11-20T11:00:00Z', amount, 'smb', currency);
    for (const event of [paid('100', 'EUR'), paid('15000', 'JPY'), paid('1', 'KWD'), paid('0.5', 'EUR')]) state.apply('a', event);
    const { windows, profiles } = state.flush(++position);
    const expected = { EUR: '100.50', JPY: '15000.00', KWD: '1.00' };
    expect(windows.filter((w) => w.day === '2026-11-20').map((w) => [w.segment, w.revenue_by_currency])).toEqual([
      ['smb', expected],
      ['*', expected],
    ]);
    expect(profiles.map((p) => p.revenue_by_currency)).toEqual([expected]);
  });

  it('never changes a published window: counts added in place after a flush go into a copy', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-11-20T11:00:00Z', '10', 'smb', 'EUR'));
    state.apply('b', view('b', '2026-11-20T11:05:00Z'));
    const published = state.flush(++position).windows;
    const asPublished = structuredClone(published);
    state.apply('c', buy('c', '2026-11-20T12:00:00Z', '5', 'smb', 'EUR'));
    state.apply('d', buy('d', '2026-11-20T12:30:00Z', '7', 'smb', 'JPY'));
    const next = state.flush(++position).windows.find((w) => w.segment === 'smb' && w.day === '2026-11-20');
    expect(next?.orders_by_currency).toEqual({ EUR: 2, JPY: 1 });
    expect(next?.counts.pageViews).toBe(1);
    expect(published).toEqual(asPublished);
  });

  it('publishes converted customers a survey puts at risk, with what they are worth', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-11-20T10:00:00Z', '30', 'smb', 'IRR'));
    state.apply('a', nps('a', '2026-11-20T11:00:00Z', 2, 'Terrible, slow delivery'));
    state.apply('b', nps('b', '2026-11-20T11:30:00Z', 1, 'Awful'));
    const { atRisk } = state.flush(++position);
    expect(atRisk).toEqual([
      expect.objectContaining({
        customer_id: 'a',
        stage: 'ongoing_engagement',
        reasons: ['nps_detractor', 'negative_comment'],
        at: '2026-11-20T11:00:00.000Z',
        score: 2,
        comment: 'Terrible, slow delivery',
        revenue: '30.00',
        revenue_by_currency: { IRR: '30.00' },
        orders: 1,
      }),
    ]);
    expect(state.flush(++position).atRisk).toEqual([]);
  });

  it('counts a replayed event once', () => {
    const state = new PartitionState(0, RULES);
    const event = buy('a', '2026-11-20T11:00:00Z', '10');
    expect([state.apply('a', event), state.apply('a', event)]).toEqual(['applied', 'duplicate']);
    expect(state.flush(++position).windows.find((w) => w.segment === 'smb')?.counts).toMatchObject({
      orders: 1,
      buyers: 1,
      revenueMinor: '100000',
    });
  });

  it('counts a customer with 100,000 events in full, with bounded state', () => {
    const state = new PartitionState(0, RULES);
    const start = at('2026-11-20T00:00:00Z');
    const outcomes = new Map<string, number>();
    let largestRecord = 0;
    let pageViews = 0;
    for (let i = 0; i < 100_000; i++) {
      const event = { ...view('busy', '2026-11-20T00:00:00Z'), occurred_at: start + i * 500, session_id: `s-${i}` };
      const outcome = state.apply('busy', event);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (i % 1000 === 999) {
        const { changelog, profiles } = state.flush(++position);
        largestRecord = Math.max(largestRecord, changelog.find((r) => r.key === 'c|busy')?.value?.length ?? 0);
        pageViews = profiles.find((p) => p.customer_id === 'busy')?.page_views ?? pageViews;
      }
    }
    expect(Object.fromEntries(outcomes)).toEqual({ applied: 100_000 });
    expect(pageViews).toBe(100_000);
    // 2,000 remembered ids (plus a quarter before a trim) and at most 200 sessions a day: far under Kafka's 1 MB.
    expect(largestRecord).toBeLessThan(250_000);
    // A replay of a remembered event is still recognised; one older than the horizon is not counted.
    const replay = { ...view('busy', '2026-11-20T00:00:00Z'), occurred_at: start };
    expect(state.apply('busy', replay)).toBe('beyond_dedup_horizon');
  });

  it('leaves the state untouched when an event throws, so the event alone can be set aside', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', view('a', '2026-11-20T09:00:00Z'));
    const before = state.flush(++position);
    const broken = { ...view('a', '2026-11-21T09:00:00Z'), occurred_at: Number.NaN };
    expect(() => state.apply('a', broken)).toThrow(RangeError);
    expect(state.flush(++position)).toEqual({ transitions: [], atRisk: [], profiles: [], windows: [], changelog: [] });
    expect(before.profiles.map((p) => p.page_views)).toEqual([1]);
    expect(state.apply('a', view('a', '2026-11-20T10:00:00Z'))).toBe('applied');
    expect(state.flush(++position).profiles.map((p) => p.page_views)).toEqual([2]);
  });

  it('revises a window for a late event within the allowed lateness, and sets aside a later one', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', view('a', '2026-11-20T09:00:00Z'));
    state.apply('b', view('b', '2026-11-22T12:00:00Z'));
    state.flush(++position);
    expect(state.apply('c', view('c', '2026-11-20T23:00:00Z'))).toBe('applied'); // 20th closes 21st 00:00 + 2 d > stream time
    const revised = state.flush(++position).windows.find((w) => w.segment === 'smb' && w.day === '2026-11-20');
    expect([revised?.revision, revised?.counts.visitors]).toEqual([position, 2]);

    state.apply('d', view('d', '2026-11-24T00:00:00Z')); // stream time passes the 20th's close + 2 days
    const closing = state.flush(++position);
    // The 21st had no events but a rolling view (the 20th's visitors are in its week); both close.
    expect(closing.changelog.filter((r) => r.value === null).map((r) => r.key)).toEqual([
      'w|smb|2026-11-20',
      'w|*|2026-11-20',
      'w|smb|2026-11-21',
      'w|*|2026-11-21',
    ]);
    expect(state.apply('e', view('e', '2026-11-20T22:00:00Z'))).toBe('too_late');
    const after = state.flush(++position);
    expect(after.windows.map((w) => `${w.segment}|${w.day}`)).toEqual([]);
    expect(after.profiles.map((p) => p.customer_id)).toEqual(['e']); // the customer still learns of it
  });

  it('restores from its changelog to a state that continues identically', () => {
    const original = new PartitionState(1, RULES);
    const replica = new PartitionState(1, RULES);
    const first = [
      view('a', '2026-11-20T09:00:00Z'),
      buy('a', '2026-11-20T10:00:00Z', '3'),
      view('b', '2026-11-21T09:00:00Z'),
      checkout('a', '2026-11-21T09:50:00Z'),
    ];
    for (const e of first) original.apply(e.customer_id ?? '', e);
    for (const record of original.flush(++position).changelog) replica.restore(record.key, record.value);

    const next = [buy('a', '2026-11-21T10:00:00Z', '4'), nps('b', '2026-11-21T11:00:00Z', 10), view('a', '2026-11-21T12:00:00Z')];
    for (const e of next) {
      original.apply(e.customer_id ?? '', e);
      replica.apply(e.customer_id ?? '', e);
    }
    const flushed = original.flush(++position);
    expect(replica.flush(position)).toEqual(flushed);
    // The purchase after the restart completed the checkout started before it.
    expect(flushed.windows.find((w) => w.segment === 'smb' && w.day === '2026-11-21')?.counts).toMatchObject({
      checkoutsStarted: 1,
      checkoutsCompleted: 1,
    });
    expect(replica.apply('a', next[0] as JourneyEvent)).toBe('duplicate');
  });

  it('publishes days ahead of stream time without keeping them, and every segment held here on each day stream time reaches', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', view('a', '2026-11-20T09:00:00Z', 'smb'));
    const first = state.flush(++position);
    // The visit is in smb's rolling windows ending on the next 29 days: published as not reached...
    const ahead = first.windows.filter((w) => w.segment === 'smb' && w.day > '2026-11-20');
    expect([ahead.length, ahead.every((w) => !w.day_reached && w.rolling['30'].visitors === 1)]).toEqual([29, true]);
    // ...with no window record of their own: the rolling record holds all they show.
    expect(first.changelog.filter((r) => r.key.startsWith('w|')).map((r) => r.key)).toEqual(['w|smb|2026-11-20', 'w|*|2026-11-20']);
    expect(first.changelog.filter((r) => r.key.startsWith('r|')).map((r) => r.key)).toEqual(['r|smb', 'r|*']);

    // Stream time reaches the 22nd by another segment's event: smb's 21st and 22nd go out reached, its visitor in them.
    state.apply('b', view('b', '2026-11-22T09:00:00Z', 'enterprise'));
    const reached = state.flush(++position).windows.filter((w) => w.segment === 'smb' && w.day_reached);
    expect(reached.map((w) => [w.day, w.rolling['7'].visitors, w.stage_counts])).toEqual([
      ['2026-11-20', 1, { discovery: 1 }],
      ['2026-11-21', 1, { discovery: 1 }],
      ['2026-11-22', 1, { discovery: 1 }],
    ]);
  });

  it('holds back the days after tomorrow and publishes them later as every batch would have, across a restore too', () => {
    const everyBatch = new PartitionState(0, RULES);
    const holding = new PartitionState(0, RULES);
    const batches = [
      [view('a', '2026-11-20T09:00:00Z'), view('b', '2026-11-20T10:00:00Z', 'enterprise')],
      [view('c', '2026-11-20T11:00:00Z'), buy('a', '2026-11-20T12:00:00Z', '3')],
      [view('d', '2026-11-21T09:00:00Z', 'enterprise'), view('e', '2026-11-21T10:00:00Z')],
    ];
    /** The latest KPI record per (segment, day), without its revision. */
    const latest = new Map<PartitionState, Map<string, unknown>>([
      [everyBatch, new Map()],
      [holding, new Map()],
    ]);
    const keep = (state: PartitionState, records: readonly SegmentKpiRecord[]) => {
      for (const { revision: _revision, ...record } of records) latest.get(state)?.set(`${record.segment}|${record.day}`, record);
      return records;
    };
    const tomorrowAt = (day: string) => new Date(at(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const changelog = new Map<string, ChangelogRecord['value']>();
    for (const [i, batch] of batches.entries()) {
      position++;
      for (const e of batch) {
        everyBatch.apply(e.customer_id ?? '', e);
        holding.apply(e.customer_id ?? '', e);
      }
      keep(everyBatch, everyBatch.flush(position).windows);
      const flushed = holding.flush(position, false);
      for (const r of flushed.changelog) changelog.set(r.key, r.value);
      const held = keep(holding, flushed.windows);
      // Nothing after tomorrow goes out; tomorrow does.
      const today = batch.at(-1)?.occurred_at ?? 0;
      const tomorrow = tomorrowAt(new Date(today).toISOString().slice(0, 10));
      expect(held.filter((w) => w.day > tomorrow)).toEqual([]);
      expect(held.some((w) => w.day === tomorrow)).toBe(true);
      expect(holding.holdsDaysAhead).toBe(true);
      if (i === 1) {
        // A new owner restored from the changelog holds what this one held.
        const restored = new PartitionState(0, RULES);
        for (const [key, value] of changelog) restored.restore(key, value);
        expect(restored.holdsDaysAhead).toBe(true);
        expect(restored.flushHeldAhead(position).windows).toEqual(keep(holding, holding.flushHeldAhead(position).windows));
      }
    }
    // The held days alone: the same latest KPI records as publishing every batch, and held no more after a restore.
    const out = holding.flushHeldAhead(position);
    keep(holding, out.windows);
    expect(out.windows.length).toBeGreaterThan(50);
    expect(latest.get(holding)).toEqual(latest.get(everyBatch));
    const restored = new PartitionState(0, RULES);
    for (const r of [...[...changelog].map(([key, value]) => ({ key, value })), ...out.changelog]) restored.restore(r.key, r.value);
    expect([holding.holdsDaysAhead, restored.holdsDaysAhead]).toEqual([false, false]);
  });

  it("keeps a buyer's purchases for checkouts only while their day is open", () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-11-20T10:00:00Z', '3'));
    const record = () =>
      unpackCustomer(state.flush(++position).changelog.find((r) => r.key === 'c|a')?.value as Buffer, () => {
        throw new Error('a changelog record of this build is not JSON');
      });
    expect(record().track).toMatchObject({ checkouts: { purchases: [at('2026-11-20T10:00:00Z')] } });
    // Stream time passes the 20th's close: a checkout that late could not count, nor its purchase.
    state.apply('z', view('z', '2026-11-24T10:00:00Z'));
    state.apply('a', view('a', '2026-11-24T11:00:00Z'));
    expect(record().track).not.toHaveProperty('checkouts');
  });

  it('counts converted customers as dormant after 30 quiet days of event time', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-10-01T10:00:00Z', '1'));
    state.apply('b', buy('b', '2026-10-20T10:00:00Z', '1'));
    state.flush(++position);
    state.apply('z', view('z', '2026-11-05T10:00:00Z'));
    const smb = state.flush(++position).windows.find((w) => w.segment === 'smb' && w.day === '2026-11-05');
    expect(smb?.dormant_customers).toBe(1);
  });

  it("counts a converted customer as newly dormant on the one day its silence reaches DORMANT_AFTER_DAYS (the day's churn)", () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-10-01T10:00:00Z', '1'));
    state.flush(++position);
    const windows = [];
    for (const day of ['2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02']) {
      state.apply('z', view('z', `${day}T10:00:00Z`));
      windows.push(...state.flush(++position).windows);
    }
    state.apply('z', view('z', '2026-11-03T10:00:00Z'));
    windows.push(...state.flush(++position).windows);
    const latest = new Map(windows.filter((w) => w.segment === 'smb' && w.day >= '2026-10-30' && w.day_reached).map((w) => [w.day, w]));
    expect([...latest].map(([day, w]) => [day, w.dormant_customers, w.newly_dormant_customers])).toEqual([
      ['2026-10-30', 0, 0],
      ['2026-10-31', 1, 1],
      ['2026-11-01', 1, 0],
      ['2026-11-02', 1, 0],
      ['2026-11-03', 1, 0],
    ]);
  });

  it('publishes a converted customer going dormant once, when stream time passes the day, and not again after a restore', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', buy('a', '2026-10-01T10:00:00Z', '7'));
    state.apply('b', buy('b', '2026-10-20T10:00:00Z', '1'));
    state.apply('v', view('v', '2026-10-25T10:00:00Z')); // never bought: never at risk
    const history = state.flush(++position);
    expect(history.atRisk).toEqual([]);
    state.apply('z', view('z', '2026-11-05T10:00:00Z')); // a dormant since the end of Oct 31
    const { atRisk, changelog } = state.flush(++position);
    expect(atRisk.map((r) => [r.customer_id, r.reasons, r.at, r.revenue, r.event_id, r.score])).toEqual([
      ['a', ['dormant'], '2026-11-01T00:00:00.000Z', '7.00', null, null],
    ]);

    const restored = new PartitionState(0, RULES);
    for (const record of [...history.changelog, ...changelog]) restored.restore(record.key, record.value);
    restored.apply('y', view('y', '2026-11-12T10:00:00Z')); // b goes dormant at the end of Nov 19, not yet
    expect(restored.flush(++position).atRisk).toEqual([]);
    restored.apply('x', view('x', '2026-11-25T10:00:00Z'));
    expect(restored.flush(++position).atRisk.map((r) => [r.customer_id, r.at])).toEqual([['b', '2026-11-20T00:00:00.000Z']]);
  });

  it('emits the final revision of a window that takes data and closes in the same batch', () => {
    const state = new PartitionState(0, RULES);
    state.apply('a', view('a', '2026-11-10T09:00:00Z'));
    state.apply('b', view('b', '2026-11-14T09:00:00Z')); // closes the 10th (end + 2 days < stream time)
    const out = state.flush(++position);
    // The 12th and 13th had no events, but a's visit on the 10th is in their rolling weeks.
    const reached = out.windows.filter((w) => w.day_reached);
    expect(reached.map((w) => `${w.segment}|${w.day}:${w.counts.visitors}/${w.rolling['7'].visitors ?? 0}`)).toEqual([
      'smb|2026-11-10:1/1',
      '*|2026-11-10:1/1',
      'smb|2026-11-12:0/1',
      '*|2026-11-12:0/1',
      'smb|2026-11-13:0/1',
      '*|2026-11-13:0/1',
      'smb|2026-11-14:1/2',
      '*|2026-11-14:1/2',
    ]);
    // Days without events still end with the partition's stage counts (as of the 10th's end).
    expect(reached.find((w) => w.segment === 'smb' && w.day === '2026-11-13')?.stage_counts).toEqual({ discovery: 1 });
    // Days ahead of this partition's stream time go out for their rolling views, marked unreached.
    const ahead = out.windows
      .filter((w) => !w.day_reached && w.segment === 'smb')
      .map((w) => `${w.day}:${w.rolling['7'].visitors ?? 0}/${w.rolling['30'].visitors ?? 0}`);
    expect(ahead.slice(0, 3)).toEqual(['2026-11-15:2/2', '2026-11-16:2/2', '2026-11-17:1/2']);
    // As far ahead as the longest window: the 30-day window that still holds b's visit.
    expect(ahead.at(-1)).toBe('2026-12-13:0/1');
    expect(out.changelog.filter((r) => r.value === null).map((r) => r.key)).toEqual(['w|smb|2026-11-10', 'w|*|2026-11-10']);
  });
});
