/**
 * End to end, started the way the README starts it (`journey start`, here on the test's stack):
 * events in through the collector → rows in ClickHouse with the values worked out by hand, read
 * through the read-only query endpoint; every query in docs/analysts.md runs; writes are refused;
 * Ctrl-C stops it cleanly.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../services/common/poll.ts';
import { EMPTY_COUNTS, kpisOf, type KpiCounts } from '../../services/processor/rules/kpis.ts';
import { uniqueName } from '../helpers/config.ts';
import { exited, startJourney } from '../helpers/pipeline.ts';
import { freePort } from '../helpers/net.ts';
import { sqlBlocks, sqlRows, TEST_QUERY_TOKEN } from '../helpers/sql.ts';
import { sentEvent } from '../helpers/events.ts';
import type { EventType } from '../../schemas/event-contract.ts';

const API_KEY = 'e2e-key-0123456789abcdef';
const DAY = '2026-11-10';
const LATER = '2026-11-12';
const at = (hhmm: string, day = DAY) => `${day}T${hhmm}:00Z`;
let n = 0;
const ev = (
  customer: string,
  segment: string,
  type: EventType,
  occurred: string,
  properties: Record<string, unknown>,
  session?: string,
  day = DAY,
) =>
  sentEvent(
    type,
    {
      n: ++n,
      at: at(occurred, day),
      customer_id: customer,
      segment,
      channel: 'web',
      ...(session !== undefined && { session_id: session }),
    },
    properties,
  );

const purchase = ev('ann', 'smb', 'purchase', '10:00', { order_id: 'o-1', amount: '40.00', currency: 'EUR', items: 2 }, 's1');
const EVENTS = [
  ev(
    'ann',
    'smb',
    'page_view',
    '09:00',
    { url: 'https://shop.example/p/1', page_type: 'product', duration_ms: 20_000, cta_shown: true, cta_clicked: true },
    's1',
  ),
  ev(
    'ann',
    'smb',
    'page_view',
    '09:10',
    { url: 'https://shop.example/pricing', page_type: 'pricing', duration_ms: 40_000, cta_shown: true },
    's1',
  ),
  purchase,
  ev('ann', 'smb', 'survey_response', '11:00', { survey_type: 'nps', score: 10, comment: 'Great service, thank you' }),
  // ann comments on the shop's Instagram post, in Persian.
  {
    ...ev('ann', 'smb', 'social_engagement', '11:30', {
      action: 'comment',
      network: 'instagram',
      post_id: 'post-7',
      comment: 'پست عالی بود، ممنون از شما',
    }),
    channel: 'social',
  },
  ev('bob', 'smb', 'page_view', '12:00', { url: 'https://shop.example/', page_type: 'home', duration_ms: 30_000 }, 's2'),
  ev('bob', 'smb', 'form_submission', '12:05', { form_id: 'demo', form_type: 'demo_request', referral_source: 'instagram' }, 's2'),
  // bob answers the NPS survey sent by email; then fills a cart and leaves at the checkout.
  {
    ...ev('bob', 'smb', 'survey_response', '12:10', { survey_type: 'nps', score: 3, comment: 'Terrible checkout experience' }),
    channel: 'email',
  },
  ev('bob', 'smb', 'cart', '12:20', { action: 'add_to_cart', cart_id: 'cart-b', product_id: 'sku-1', quantity: 2 }, 's2'),
  ev('bob', 'smb', 'cart', '12:25', { action: 'checkout_started', cart_id: 'cart-b' }, 's2'),
  ev('bob', 'smb', 'survey_response', '12:15', { survey_type: 'csat', score: 4 }),
  ev('cid', 'enterprise', 'page_view', '13:00', { url: 'https://shop.example/p/2', page_type: 'product' }, 's3'),
  ev('cid', 'enterprise', 'purchase', '13:30', { order_id: 'o-2', amount: '100.00', currency: 'EUR' }, 's3'),
  // A customer who bought and then found it hard work: at risk.
  ev('cid', 'enterprise', 'survey_response', '14:00', { survey_type: 'ces', score: 5 }),
  // And said so on Google Maps, in Persian.
  ev('cid', 'enterprise', 'review', '15:00', { rating: 2, comment: 'تحویل خیلی دیر بود و پشتیبانی جواب نداد', source: 'google_maps' }),
  // cid orders again, through the checkout: a completed checkout.
  ev('cid', 'enterprise', 'cart', '16:00', { action: 'checkout_started' }, 's6'),
  ev('cid', 'enterprise', 'purchase', '16:10', { order_id: 'o-3', amount: '20.00', currency: 'EUR' }, 's6'),
  // Two days later: ann again, and a new visitor. Her week has three smb visitors, not four.
  ev('ann', 'smb', 'page_view', '09:00', { url: 'https://shop.example/blog/1', page_type: 'blog', duration_ms: 10_000 }, 's4', LATER),
  // dan browses before signing in (anonymously, on his phone), then likes a post signed in: one person.
  {
    ...ev('dan', 'smb', 'page_view', '10:00', { url: 'https://shop.example/', page_type: 'home' }, 's5', LATER),
    customer_id: null,
    anonymous_id: 'dan-phone',
  },
  {
    ...ev('dan', 'smb', 'social_engagement', '10:30', { action: 'like', network: 'telegram' }, undefined, LATER),
    anonymous_id: 'dan-phone',
    channel: 'social',
  },
];

describe('journey start, end to end', () => {
  const log: string[] = [];
  let product: ChildProcess | undefined;
  afterAll(() => {
    product?.kill('SIGKILL');
  });

  it('takes events at the collector and serves them, with stages and KPIs, as ClickHouse rows', { timeout: 240_000 }, async () => {
    const [collectorPort, queryPort, dashboardPort] = [await freePort(), await freePort(), await freePort()];
    const started = { collector: `http://127.0.0.1:${collectorPort}`, query: `http://127.0.0.1:${queryPort}` };
    product = startJourney(
      ['start'],
      {
        TOPIC_PREFIX: `${uniqueName('e2e')}.`,
        // Its own embedded ClickHouse even when the stack has a server: the assertions read whole tables.
        CLICKHOUSE_URL: '',
        CHDB_PATH: mkdtempSync(path.join(tmpdir(), 'journeyline-e2e-')),
        COLLECTOR_API_KEYS: API_KEY,
        COLLECTOR_PORT: String(collectorPort),
        QUERY_PORT: String(queryPort),
        DASHBOARD_PORT: String(dashboardPort),
        SINK_BATCH_MAX_WAIT_MS: '200',
      },
      { push: (line) => log.push(line) },
    );
    // The collector starts last and is ready only while every service of the process is alive.
    await pollUntil(
      async () =>
        (await fetch(`${started.collector}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
          ? true
          : undefined,
      {
        timeoutMs: 120_000,
        what: 'journey start to be ready',
        giveUpIf: () => (product?.exitCode != null ? `exited ${product.exitCode}: ${log.join('').slice(-2000)}` : undefined),
      },
    );
    // What a person reads to find them.
    expect(log.join('')).toContain(`collector: POST ${started.collector}/v1/events`);
    expect(log.join('')).toContain(`query: ${started.query} (read-only SQL`);

    const response = await fetch(`${started.collector}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(EVENTS),
    });
    expect(response.status).toBe(202);
    // The same purchase again, later: accepted, never counted twice.
    const resent = await fetch(`${started.collector}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(purchase),
    });
    expect(resent.status).toBe(202);

    const q = <T = Record<string, unknown>>(sql: string, params?: Record<string, string>) => sqlRows<T>(started.query, sql, params);
    const everything = await pollUntil(
      async () => {
        const [row, later] = await q<{
          orders: string;
          nps_responses: string;
          ces_responses: string;
          csat_responses: string;
          reviews: string;
          visitors: string;
        }>(
          "SELECT orders, nps_responses, ces_responses, csat_responses, reviews, visitors FROM journey.segment_kpis_daily WHERE segment = '*' AND day IN ({day:Date}, {later:Date}) ORDER BY day",
          { day: DAY, later: LATER },
        );
        const kpisDone =
          row?.orders === '3' &&
          row.nps_responses === '2' &&
          row.ces_responses === '1' &&
          row.csat_responses === '1' &&
          row.reviews === '1' &&
          later?.visitors === '2';
        // Each topic reaches ClickHouse on its own: wait for all of them.
        const [landed] = await q<{ events: string; stages: string; transitions: string; merged: string }>(
          "SELECT (SELECT count() FROM journey.events FINAL) AS events, (SELECT count() FROM journey.people_stages) AS stages, (SELECT count() FROM journey.stage_transitions) AS transitions, (SELECT count() FROM journey.identity_links WHERE status = 'merged') AS merged",
        );
        // dan's anonymous visit made a transition of its own before it merged into him: 10 in all.
        return kpisDone && landed?.events === '20' && landed.stages === '4' && landed.transitions === '10' && landed.merged === '1'
          ? row
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'all KPIs to reach ClickHouse' },
    );
    expect(everything).toBeDefined();

    const [counts] = await q<{ rows: string; distinct_ids: string }>(
      'SELECT count() AS rows, uniqExact(event_id) AS distinct_ids FROM journey.events FINAL',
    );
    expect(counts).toEqual({ rows: '20', distinct_ids: '20' });

    // How bob heard of the shop, on his profile.
    expect(await q('SELECT customer_id, referral_source FROM journey.customer_profiles FINAL WHERE referral_source IS NOT NULL')).toEqual([
      { customer_id: 'bob', referral_source: 'instagram' },
    ]);

    // A review: stars, source, its text read in Persian, and the segment's review KPIs.
    const [review] = await q("SELECT rating, source, comment_language, comment_sentiment FROM journey.events FINAL WHERE type = 'review'");
    expect(review).toEqual({ rating: 2, source: 'google_maps', comment_language: 'fa', comment_sentiment: 'negative' });
    const [enterprise] = await q(
      "SELECT reviews, avg_review_rating, low_rated_review_pct, negative_review_pct FROM journey.segment_kpis_daily WHERE segment = 'enterprise' AND day = {day:Date}",
      { day: DAY },
    );
    expect(enterprise).toEqual({ reviews: '1', avg_review_rating: 2, low_rated_review_pct: 100, negative_review_pct: 100 });

    // Social engagement: the comment's network and text, read in Persian; carts: cid's checkout
    // was completed by his order ten minutes later, bob's abandoned.
    const [comment] = await q(
      "SELECT action, network, post_id, comment_language, comment_sentiment FROM journey.events FINAL WHERE type = 'social_engagement' AND action = 'comment'",
    );
    expect(comment).toEqual({
      action: 'comment',
      network: 'instagram',
      post_id: 'post-7',
      comment_language: 'fa',
      comment_sentiment: 'positive',
    });
    const [enterpriseCarts] = await q(
      "SELECT checkouts_started, abandoned_checkouts, cart_abandonment_rate_pct, orders FROM journey.segment_kpis_daily WHERE segment = 'enterprise' AND day = {day:Date}",
      { day: DAY },
    );
    expect(enterpriseCarts).toEqual({ checkouts_started: '1', abandoned_checkouts: '0', cart_abandonment_rate_pct: 0, orders: '2' });

    // NPS by channel is one query: ann answered on the web, bob by email.
    const byChannel = await q(
      "SELECT channel, nps, nps_responses, social_engagements FROM journey.channel_kpis_daily(time_zone = 'UTC') WHERE segment = '*' AND day = {day:Date} ORDER BY channel",
      { day: DAY },
    );
    expect(byChannel).toEqual([
      { channel: 'email', nps: -100, nps_responses: '1', social_engagements: '0' },
      { channel: 'social', nps: null, nps_responses: '0', social_engagements: '1' },
      { channel: 'web', nps: 100, nps_responses: '1', social_engagements: '0' },
    ]);

    // dan is one person, in discovery since his anonymous visit.
    const stages = await q('SELECT customer_id, segment, stage, stage_since FROM journey.people_stages ORDER BY customer_id');
    expect(stages).toEqual([
      { customer_id: 'ann', segment: 'smb', stage: 'ongoing_engagement', stage_since: `${DAY} 11:00:00.000` },
      { customer_id: 'bob', segment: 'smb', stage: 'consideration', stage_since: `${DAY} 12:05:00.000` },
      { customer_id: 'cid', segment: 'enterprise', stage: 'ongoing_engagement', stage_since: `${DAY} 14:00:00.000` },
      { customer_id: 'dan', segment: 'smb', stage: 'discovery', stage_since: `${LATER} 10:00:00.000` },
    ]);

    const transitions = await q(
      "SELECT customer_id, from_stage, to_stage, at FROM journey.stage_transitions WHERE customer_id = 'ann' ORDER BY at",
    );
    expect(transitions).toEqual([
      { customer_id: 'ann', from_stage: 'unaware', to_stage: 'discovery', at: `${DAY} 09:00:00.000` },
      { customer_id: 'ann', from_stage: 'discovery', to_stage: 'conversion', at: `${DAY} 10:00:00.000` },
      { customer_id: 'ann', from_stage: 'conversion', to_stage: 'ongoing_engagement', at: `${DAY} 11:00:00.000` },
    ]);

    // The dashboard journey start runs reads the same through the query endpoint, with the token it
    // printed: ann skipped consideration and counts in it all the same.
    const signIn = new RegExp(`dashboard: (http://127\\.0\\.0\\.1:${String(dashboardPort)})/\\?token=(\\S+)`).exec(log.join(''));
    expect(signIn, log.join('').slice(-2000)).not.toBeNull();
    const funnel = await fetch(`${signIn?.[1] ?? ''}/api/funnel`, { headers: { authorization: `Bearer ${signIn?.[2] ?? ''}` } });
    expect(funnel.status).toBe(200);
    const { steps } = (await funnel.json()) as { steps: { stage: string; reached: number }[] };
    expect(steps.map((step) => [step.stage, step.reached])).toEqual([
      ['unaware', 4],
      ['discovery', 4],
      ['consideration', 3],
      ['conversion', 2],
      ['ongoing_engagement', 2],
    ]);

    const [smb] = await q(
      "SELECT * EXCEPT (updated_at, time_zone) FROM journey.segment_kpis_daily WHERE segment = 'smb' AND day = {day:Date}",
      { day: DAY },
    );
    expect(smb).toEqual({
      segment: 'smb',
      day: DAY,
      visitors: '2',
      sessions: '2',
      page_views: '3',
      pages_per_visit: 1.5,
      avg_time_on_page_s: 30,
      avg_time_on_site_s: 45,
      cta_impressions: '2',
      cta_clicks: '1',
      ctr_pct: 50,
      forms_submitted: '1',
      orders: '1',
      revenue: 40,
      aov: 40,
      revenue_by_currency: { EUR: 40 },
      orders_by_currency: { EUR: '1' },
      aov_by_currency: { EUR: 40 },
      buyers: '1',
      converted_visitors: '1',
      conversion_rate_pct: 50,
      repeat_purchase_rate_pct: 0,
      in_window_repeat_purchase_rate_pct: 0,
      purchase_cycle_days: 0.0417,
      nps: 0,
      nps_responses: '2',
      csat: 4,
      csat_pct: 100,
      csat_responses: '1',
      ces: null,
      ces_responses: '0',
      positive_sentiment_pct: 50,
      negative_sentiment_pct: 50,
      unscored_comments: '0',
      reviews: '0',
      avg_review_rating: null,
      low_rated_review_pct: null,
      negative_review_pct: null,
      social_engagements: '1',
      social_likes: '0',
      social_shares: '0',
      social_comments: '1',
      social_video_views: '0',
      social_replies: '0',
      social_by_network: { instagram: '1' },
      negative_social_comment_pct: 0,
      cart_adds: '1',
      cart_removals: '0',
      // bob's checkout had no purchase within the hour.
      checkouts_started: '1',
      abandoned_checkouts: '1',
      cart_abandonment_rate_pct: 100,
      dormant_customers: '0',
      // One converted customer, none dormant: none churned of the one active. Nobody visited the day before.
      churned_customers: '0',
      churn_rate_pct: 0,
      returning_visitors: '0',
      previous_visitors: '0',
      retention_rate_pct: null,
      // bob reached consideration; ann jumped from discovery to conversion, passing it too.
      transitions_to: { discovery: '2', consideration: '2', conversion: '1', ongoing_engagement: '1' },
      stage_counts: { consideration: '1', ongoing_engagement: '1' },
    });

    // Rolling windows: sums over the days, distinct visitors and buyers over the whole window,
    // and a day without events (the 11th) still has its week.
    const rolling = await pollUntil(
      async () => {
        const rows = await q(
          "SELECT day, window_days, visitors, sessions, page_views, orders, revenue, buyers, conversion_rate_pct, nps, avg_time_on_site_s FROM journey.segment_kpis WHERE segment = 'smb' ORDER BY day, window_days",
        );
        return rows.some((r) => r.day === LATER && r.window_days === 7 && r.visitors === '3') ? rows : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the rolling views of the 12th' },
    );
    const view = (day: string, windowDays: number) => rolling.find((r) => r.day === day && r.window_days === windowDays);
    expect(view(LATER, 1)).toMatchObject({ visitors: '2', sessions: '2', page_views: '2', orders: '0', buyers: '0' });
    expect(view(LATER, 7)).toEqual({
      day: LATER,
      window_days: 7,
      visitors: '3',
      sessions: '4',
      page_views: '5',
      orders: '1',
      revenue: 40,
      buyers: '1',
      conversion_rate_pct: 33.3333,
      nps: 0,
      avg_time_on_site_s: 33.3333,
    });
    expect(view(LATER, 30)).toMatchObject({ visitors: '3', page_views: '5', buyers: '1' });
    expect(view('2026-11-11', 1)).toMatchObject({ visitors: '0', page_views: '0' });
    expect(view('2026-11-11', 7)).toMatchObject({ visitors: '2', page_views: '3', orders: '1' });

    // The view's SQL formulas and the processor's kpisOf must agree on the same counts.
    const partials = await q<Record<string, string | number>>(
      "SELECT * FROM journey.segment_kpi_partials FINAL WHERE segment = '*' AND day = {day:Date}",
      { day: DAY },
    );
    const sum = (column: string) => partials.reduce((total, p) => total + Number(p[column]), 0);
    const counts_: KpiCounts = Object.fromEntries(
      Object.keys(EMPTY_COUNTS).map((field) => [
        field,
        field === 'revenueMinor' ? BigInt(Math.round(sum('revenue') * 10_000)) : sum(field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
      ]),
    ) as unknown as KpiCounts;
    const byCurrency = (column: string) => {
      const total = new Map<string, number>();
      for (const p of partials)
        for (const [code, n] of Object.entries(p[column] as unknown as Record<string, number | string>))
          total.set(code, (total.get(code) ?? 0) + Number(n));
      return total;
    };
    const expected = kpisOf(counts_, {
      revenueByCurrency: Object.fromEntries(
        [...byCurrency('revenue_by_currency')].map(([code, n]) => [code, BigInt(Math.round(n * 10_000))]),
      ),
      ordersByCurrency: Object.fromEntries(byCurrency('orders_by_currency')),
    });
    const numbers = (map: unknown) => Object.fromEntries(Object.entries(map as Record<string, unknown>).map(([k, v]) => [k, Number(v)]));
    const [all] = await q("SELECT * FROM journey.segment_kpis_daily WHERE segment = '*' AND day = {day:Date}", { day: DAY });
    for (const [kpi, value] of Object.entries(expected)) {
      const actual = all?.[kpi];
      if (kpi.endsWith('_by_currency')) {
        expect([kpi, numbers(actual)]).toEqual([kpi, numbers(value)]);
        continue;
      }
      expect([
        kpi,
        typeof value === 'number' || kpi === 'revenue' || kpi === 'aov' ? (actual === null ? null : Number(actual)) : actual,
      ]).toEqual([kpi, value === null ? null : typeof value === 'string' ? Number(value) : value]);
    }

    // Converted customers a survey put at risk, with what they are worth; bob (a detractor) has not bought.
    const atRisk = await pollUntil(
      async () => {
        const rows = await q(
          'SELECT customer_id, reasons, score, toFloat64(revenue) AS revenue, orders FROM journey.customers_at_risk FINAL',
        );
        return rows.length > 0 ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'customers at risk in ClickHouse' },
    );
    expect(atRisk).toEqual([{ customer_id: 'cid', reasons: ['high_ces'], score: 5, revenue: 100, orders: '1' }]);

    // Money per currency lands beside the plain sum (the re-sent purchase counted once).
    const [money] = await q<{ eur: number; currencies: number; ann: number }>(
      "SELECT toFloat64(sumMap(revenue_by_currency)['EUR']) AS eur, toUInt8(length(sumMap(revenue_by_currency))) AS currencies, (SELECT toFloat64(revenue_by_currency['EUR']) FROM journey.customer_profiles FINAL WHERE customer_id = 'ann') AS ann FROM journey.segment_kpi_partials FINAL WHERE segment = '*' AND day = {day:Date}",
      { day: DAY },
    );
    expect(money).toEqual({ eur: 160, currencies: 1, ann: 40 });

    // Every documented query runs on this data.
    const docs = sqlBlocks(readFileSync(path.resolve(import.meta.dirname, '../../docs/analysts.md'), 'utf8'));
    expect(docs.length).toBeGreaterThanOrEqual(10);
    for (const { title, sql } of docs) {
      const rows = await q(sql).catch((error: unknown) => {
        throw new Error(`docs/analysts.md "${title}" failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      if (!/alerts|Dormant/i.test(title)) expect(rows.length, title).toBeGreaterThan(0);
    }

    // @clickhouse/client speaks to the endpoint as to a ClickHouse server.
    const client = createClient({ url: started.query, password: TEST_QUERY_TOKEN, log: { level: ClickHouseLogLevel.OFF } });
    try {
      expect((await client.ping()).success).toBe(true);
      const result = await client.query({
        query: 'SELECT stage FROM journey.customer_stages FINAL WHERE customer_id = {customer:String}',
        query_params: { customer: 'bob' },
        format: 'JSONEachRow',
      });
      expect(await result.json()).toEqual([{ stage: 'consideration' }]);
      await expect(client.command({ query: 'TRUNCATE TABLE journey.events' })).rejects.toMatchObject({ code: '164', type: 'READONLY' });
    } finally {
      await client.close();
    }

    // Reads only.
    await expect(q('DROP TABLE journey.events')).rejects.toThrow(/HTTP 403.*only reads are allowed/);
    await expect(q("INSERT INTO journey.alerts (segment) VALUES ('x')")).rejects.toThrow(/HTTP 403/);
    await expect(q("SELECT * FROM file('/etc/hostname', 'LineAsString')")).rejects.toThrow(/HTTP 403.*file\(\) is not allowed/);

    // Ctrl-C stops everything and the process exits 0.
    product.kill('SIGINT');
    await exited(product);
    expect(product.exitCode).toBe(0);
  });
});
