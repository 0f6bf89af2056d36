/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) after a generated
 * run on the real stack: the sink, processor and dashboard run as `journey run` processes, three
 * weeks of journeys go in through the producer library (with raw poison for the dead-letter
 * topic), plus a customer whose first event is a purchase and two alert records. What the page
 * shows (each chart's numbers sit in a table beside it, `data-value` as the server sent them) must
 * equal what ClickHouse says, asked independently; the Persian locale renders right to left with
 * Persian digits and calendar. Screenshots of both locales go to docs/screenshots/.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertKey, alertRecord, type AlertRecord } from '../../schemas/alert-records.ts';
import { DAY_MS } from '../../schemas/event-contract.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { createIdempotentProducer, createKafka, ensureTopics, readPartitionsToEnd } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { analyseComment } from '../../services/sentiment/sentiment.ts';
import { testConfig } from '../helpers/config.ts';
import { sentEvent } from '../helpers/events.ts';
import { encodersFor } from '../helpers/kafka.ts';
import { freePort } from '../helpers/net.ts';
import { processorCaughtUp, produceAll, runJourney, startJourney, startSink, stopJourney } from '../helpers/pipeline.ts';
import { sqlRows } from '../helpers/sql.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'test-dashboard-token-0123456789';
const SEGMENT = 'فروشگاه-تهران';
const FIRST_VISIT_BUYER = 'buys-on-first-visit';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../docs/screenshots');
const STAGE_ORDER = ['unaware', 'discovery', 'consideration', 'conversion', 'ongoing_engagement'];

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function alert(segment: string, signal: AlertRecord['signal'], status: AlertRecord['status'], value: number): AlertRecord {
  const now = new Date().toISOString();
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return alertRecord.parse({
    alert_id: randomUUID(),
    segment,
    signal,
    status,
    change: status === 'firing' ? 'fired' : 'resolved',
    revision: status === 'firing' ? 1 : 2,
    value,
    baseline: 0.1,
    threshold: 0.25,
    worse: 'up',
    window_day: isoDay(today - 2 * DAY_MS),
    window_days: 1,
    sample_size: 40,
    start_day: isoDay(today - 20 * DAY_MS),
    fired_day: isoDay(today - 3 * DAY_MS),
    resolved_day: status === 'resolved' ? isoDay(today - DAY_MS) : null,
    peak: value,
    weight: 1,
    fired_at: now,
    resolved_at: status === 'resolved' ? now : null,
    updated_at: now,
  });
}

/** The `data-value` of every element matching `selector`, in page order. */
const values = (page: Page, selector: string) =>
  page.$$eval(selector, (elements) => elements.map((element) => (element as HTMLElement).dataset.value ?? ''));
const asNumber = (value: string | null | undefined) => (value === '' || value === null || value === undefined ? null : Number(value));
/** Waits for the page's next full refresh after `action`. */
async function refreshedAfter(page: Page, action: () => Promise<unknown>) {
  const before = await page.evaluate(() => document.body.dataset.refreshed ?? '');
  await action();
  await page.waitForFunction((previous) => (document.body.dataset.refreshed ?? '') !== previous, before, { timeout: 30_000 });
}

describe('the dashboard', () => {
  const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
  const topics = topicsFor(config.topicPrefix);
  const kafka = createKafka(config.kafka, undefined);
  const env = { TOPIC_PREFIX: config.topicPrefix, KAFKA_TOPIC_PARTITIONS: '3' };
  const log: string[] = [];
  const children: ChildProcess[] = [];
  const alerts = [alert(SEGMENT, 'detractor_share', 'firing', 0.62), alert('smb', 'ces_mean', 'resolved', 2.9)];
  let sql: <T>(query: string, params?: Record<string, string>) => Promise<T[]>;
  let dashboardUrl = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const sink = await startSink(config, mkdtempSync(path.join(tmpdir(), 'journeyline-dashboard-')), log);
    children.push(sink.child);
    children.push(startJourney(['run', 'processor'], env, log));
    const generated = await runJourney(['generate', '--days', '21', '--rate', '0', '--customers', '400', '--seed', '12'], env);
    expect(generated.code, generated.stderr).toBe(0);
    const firstVisit = new Date(Date.now() - 3 * DAY_MS).toISOString();
    await produceAll(config, [
      sentEvent(
        'purchase',
        { at: firstVisit, customer_id: FIRST_VISIT_BUYER, segment: 'smb' },
        { order_id: 'o-first-visit', amount: '40.00', currency: 'EUR', items: 1 },
      ),
    ]);
    const encode = await encodersFor(createRegistry(config.registry), topics, 'alerts');
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: topics.alerts.name,
      messages: alerts.map((a) => ({ key: alertKey(a.segment, a.signal), value: encode.alerts(a) })),
    });
    await producer.disconnect();

    const queryUrl = await sink.url();
    sql = (query, params = {}) => sqlRows(queryUrl, query, params);
    await processorCaughtUp(kafka, config.topicPrefix, 180_000);
    // Landed: ClickHouse reads the same twice, a few sink batches apart.
    let last = '';
    await pollUntil(
      async () => {
        const [now] = await sql<Record<string, string>>(
          `SELECT (SELECT count() FROM journey.customer_profiles FINAL) AS profiles, (SELECT count() FROM journey.alerts) AS alerts,
                  (SELECT sum(visitors) FROM journey.segment_kpis_daily) AS visitors, (SELECT count() FROM journey.stage_transitions) AS transitions`,
        );
        const seen = JSON.stringify(now);
        const settled = seen === last && now?.alerts === String(alerts.length) && now.profiles !== '0';
        last = seen;
        return settled ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2_000, what: 'the sink to land the run in ClickHouse' },
    );

    const port = await freePort();
    children.push(
      startJourney(['run', 'dashboard'], { ...env, QUERY_URL: queryUrl, DASHBOARD_PORT: String(port), DASHBOARD_API_KEYS: TOKEN }, log),
    );
    dashboardUrl = `http://127.0.0.1:${String(port)}`;
    await pollUntil(
      () =>
        fetch(`${dashboardUrl}/healthz`).then(
          (r) => (r.ok ? true : undefined),
          () => undefined,
        ),
      {
        timeoutMs: 60_000,
        what: 'the dashboard to listen',
      },
    );
    if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: .ci/run installs Debian's chromium (or set CHROMIUM_PATH)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled(children.map((child) => stopJourney(child)));
  });

  /** A signed-in page on the whole range of days, in `lang`. */
  async function openPage(lang: 'en' | 'fa', query = ''): Promise<Page> {
    const page = await (browser as Browser).newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${dashboardUrl}/?token=${TOKEN}&lang=${lang}${query}`);
    await page.waitForSelector('body[data-refreshed]', { timeout: 30_000 });
    expect(errors).toEqual([]);
    expect(page.url()).not.toContain(TOKEN);
    return page;
  }

  async function wholeRange(page: Page) {
    const days = await page.$$eval('#from option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    await refreshedAfter(page, () => page.selectOption('#from', days.at(-1) ?? ''));
  }

  it('shows the funnel ClickHouse holds, counting a skipped stage as passed', async () => {
    const page = await openPage('en');
    // By default the range ends on the latest day of data.
    const [latest] = await sql<{ day: string }>('SELECT max(day) AS day FROM journey.segment_kpis_daily');
    expect(await page.$eval('#to', (select) => (select as HTMLSelectElement).value)).toBe(latest?.day);
    await wholeRange(page);
    const stages = await sql<{ stage: string; customers: string }>(
      'SELECT stage, count() AS customers FROM journey.people_stages GROUP BY stage',
    );
    const at = (stage: string) => Number(stages.find((s) => s.stage === stage)?.customers ?? 0);
    const reached = STAGE_ORDER.map((_, i) => STAGE_ORDER.slice(i).reduce((sum, stage) => sum + at(stage), 0));
    expect((await values(page, '#funnel-table [data-field="reached"]')).map(Number)).toEqual(reached);
    expect((await values(page, '#funnel-table [data-field="current"]')).map(Number)).toEqual(STAGE_ORDER.map(at));
    const ofPrevious = (await values(page, '#funnel-table [data-field="pctOfPrevious"]')).map(asNumber);
    expect(ofPrevious.slice(1)).toEqual(reached.slice(1).map((r, i) => Math.round((1000 * r) / (reached[i] ?? 1)) / 10));
    expect(ofPrevious.every((p) => p === null || p <= 100)).toBe(true);

    // The first-visit buyer jumped unaware → conversion: counted in discovery and consideration all the same.
    const [jump] = await sql<{ from_stage: string; to_stage: string }>(
      'SELECT from_stage, to_stage FROM journey.stage_transitions WHERE customer_id = {id:String}',
      { id: FIRST_VISIT_BUYER },
    );
    expect(jump).toEqual({ from_stage: 'unaware', to_stage: 'conversion' });
    const [everToDiscovery] = await sql<{ n: string }>(
      "SELECT uniqExact(customer_id) AS n FROM journey.stage_transitions WHERE to_stage = 'discovery' AND customer_id NOT IN (SELECT customer_id FROM journey.merged_visitors)",
    );
    expect(reached[1]).toBeGreaterThan(Number(everToDiscovery?.n));

    const medians = (await values(page, '#funnel-table [data-field="medianSecondsFromPrevious"]')).map(asNumber);
    expect(medians[0]).toBeNull();
    expect(medians.slice(1).every((m) => m !== null && m >= 0)).toBe(true);
    const [stuck] = await sql<{ n: string }>(
      `SELECT countIf(stage = 'consideration' AND stage_since < (SELECT max(occurred_at) FROM journey.events) - INTERVAL 14 DAY) AS n
       FROM journey.people_stages`,
    );
    expect(await page.$eval('#stuck', (e) => (e as HTMLElement).dataset.value)).toBe(stuck?.n);

    // One segment, named in Persian.
    await refreshedAfter(page, () => page.selectOption('#segment', SEGMENT));
    const [inSegment] = await sql<{ n: string }>('SELECT count() AS n FROM journey.people WHERE segment = {s:String}', {
      s: SEGMENT,
    });
    expect(Number((await values(page, '#funnel-table [data-field="reached"]'))[0])).toBe(Number(inSegment?.n));
    await page.close();
  });

  it('draws KPI trends with the numbers of segment_kpis, daily and weekly', async () => {
    const page = await openPage('en');
    await wholeRange(page);
    const fields = ['conversion_rate_pct', 'nps', 'csat', 'ces', 'ctr_pct', 'pages_per_visit', 'retention_rate_pct'];
    expect(await page.$$eval('#kpi-grid canvas', (canvases) => canvases.length)).toBeGreaterThanOrEqual(12);
    for (const window of ['1', '7']) {
      if (window !== '1') await refreshedAfter(page, () => page.selectOption('#window', window));
      const rows = await sql<Record<string, number | null> & { day: string }>(
        `SELECT day, ${fields.join(', ')} FROM journey.segment_kpis WHERE segment = '*' AND window_days = {w:UInt8} ORDER BY day`,
        { w: window },
      );
      expect(rows.length).toBeGreaterThanOrEqual(20);
      for (const field of fields) {
        const shown = await page.$$eval(
          `[data-kpi="${field}"] tr[data-day]`,
          (trs, f) =>
            trs.map((tr) => [(tr as HTMLElement).dataset.day, (tr.querySelector(`[data-field="${f}"]`) as HTMLElement).dataset.value]),
          field,
        );
        expect(
          shown.map(([day, value]) => [day, asNumber(value)]),
          `${field}, ${window}-day window`,
        ).toEqual(rows.map((row) => [row.day, row[field] === null ? null : Number(row[field])]));
      }
      // Money per currency, never summed across them: one line (and column) per currency.
      const aov = await sql<{ day: string; aov: number | null; aov_by_currency: Record<string, number | string> }>(
        "SELECT day, aov, aov_by_currency FROM journey.segment_kpis WHERE segment = '*' AND window_days = {w:UInt8} ORDER BY day",
        { w: window },
      );
      const shownAov = await page.$$eval('[data-kpi="aov"] tr[data-day]', (trs): [string | undefined, Record<string, number>][] =>
        trs.map((tr) => [
          (tr as HTMLElement).dataset.day,
          Object.fromEntries(
            [...tr.querySelectorAll<HTMLElement>('[data-currency]')]
              .filter((cell) => cell.dataset.value !== '')
              .map((cell) => [cell.dataset.currency ?? '', Number(cell.dataset.value)]),
          ),
        ]),
      );
      expect(shownAov).toEqual(
        aov.map((row) => [row.day, Object.fromEntries(Object.entries(row.aov_by_currency).map(([c, v]) => [c, Number(v)]))]),
      );
      // The generated segments sell in several currencies: all of them together have no single AOV.
      expect(new Set(aov.flatMap((row) => Object.keys(row.aov_by_currency))).size).toBeGreaterThan(1);
      expect(aov.some((row) => Object.keys(row.aov_by_currency).length > 1 && row.aov === null)).toBe(true);
    }
    await page.close();
  });

  it('lists the alerts of alerts_latest and the customers at risk behind the firing one', async () => {
    const page = await openPage('en');
    const rows = await page.$$eval('#alert-table tr[data-alert-id]', (trs) =>
      trs.map((tr) => ({
        id: (tr as HTMLElement).dataset.alertId,
        status: (tr.querySelector('[data-field="status"]') as HTMLElement).dataset.value,
        value: Number((tr.querySelector('[data-field="value"]') as HTMLElement).dataset.value),
      })),
    );
    const latest = await sql<{ alert_id: string; status: string; value: number }>(
      "SELECT alert_id, status, value FROM journey.alerts_latest ORDER BY status = 'firing' DESC, fired_at DESC",
    );
    expect(rows).toEqual(latest.map((a) => ({ id: a.alert_id, status: a.status, value: a.value })));
    expect(rows.map((r) => r.id).sort()).toEqual(alerts.map((a) => a.alert_id).sort());
    const firing = alerts[0] as AlertRecord;
    const [atRisk] = await sql<{ n: string }>(
      "SELECT count() AS n FROM journey.customers_at_risk FINAL WHERE segment = {s:String} AND at >= toDateTime64({from:String}, 3, 'UTC')",
      { s: firing.segment, from: firing.start_day },
    );
    expect(Number(atRisk?.n)).toBeGreaterThan(0);
    expect(await page.$eval('#at-risk-total', (e) => (e as HTMLElement).dataset.value)).toBe(atRisk?.n);
    const listed = await page.$$eval('#at-risk-table tr[data-customer]', (trs) => trs.length);
    expect(listed).toBe(Math.min(50, Number(atRisk?.n)));
    await page.close();
  });

  it('counts the dead letters on the topic and shows the pipeline live', async () => {
    const page = await openPage('en');
    let onTopic = 0;
    await readPartitionsToEnd(kafka, topics.deadLetter.name, [0, 1, 2], () => void (onTopic += 1), 60_000);
    expect(onTopic).toBeGreaterThan(0);
    await page.waitForFunction((n) => document.querySelector<HTMLElement>('#dead-letters')?.dataset.value === String(n), onTopic, {
      timeout: 20_000,
    });
    expect(await page.$eval('#processor-lag', (e) => (e as HTMLElement).dataset.value)).toBe('0');
    expect(Number(await page.$eval('#events-per-second', (e) => (e as HTMLElement).dataset.value))).toBeGreaterThanOrEqual(0);
    // Kafka answers: the panel says nothing of an outage, however long the page waited for its data.
    expect(await page.$eval('#live-stale', (e) => (e as HTMLElement).hidden)).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await wholeRange(page);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-en.png'), fullPage: true });
    await page.close();
  });

  it('renders Persian right to left, with Persian digits and the Persian calendar', async () => {
    const page = await openPage('fa', `&segment=${encodeURIComponent(SEGMENT)}`);
    await wholeRange(page);
    expect(
      await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, getComputedStyle(document.body).direction]),
    ).toEqual(['fa', 'rtl', 'rtl']);
    const reached = await page.$$eval('#funnel-table [data-field="reached"]', (cells) =>
      cells.map((c) => [(c as HTMLElement).dataset.value, c.textContent]),
    );
    for (const [value, text] of reached) {
      expect(text).toMatch(/^[۰-۹٬]+$/);
      expect(Number((text ?? '').replace(/٬/g, '').replace(/[۰-۹]/g, (d) => String('۰۱۲۳۴۵۶۷۸۹'.indexOf(d))))).toBe(Number(value));
    }
    const day = await page.$eval('[data-kpi="nps"] tr[data-day] td', (cell) => cell.textContent);
    expect(day).toMatch(/^[۰-۹]+ (فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}$/);
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('ژورنی‌لاین');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-fa.png'), fullPage: true });
    await page.close();
  });

  it('lands each comment with its language and sentiment, Persian and Arabic included', async () => {
    const rows = await sql<{ comment: string; comment_language: string; comment_sentiment: string; comment_score: number | null }>(
      'SELECT DISTINCT comment, comment_language, comment_sentiment, comment_score FROM journey.events WHERE comment IS NOT NULL',
    );
    const of = (comment: string) => rows.find((row) => row.comment === comment);
    expect(of('خیلی بد بود، دیگر خرید نمی‌کنم')).toMatchObject({ comment_language: 'fa', comment_sentiment: 'negative' });
    expect(of('تجربة سيئة جداً، لن أعود')).toMatchObject({ comment_language: 'ar', comment_sentiment: 'negative' });
    expect(of('کیفیت محصول فوق‌العاده است')).toMatchObject({ comment_language: 'fa', comment_sentiment: 'positive' });
    // Each comment has one reading, the one the library gives it.
    for (const row of rows) {
      const expected = analyseComment(row.comment);
      expect([row.comment_language, row.comment_sentiment], row.comment).toEqual([expected.language, expected.sentiment]);
    }
    expect(new Set(rows.map((row) => row.comment))).toHaveLength(rows.length);
  });

  it('opens only with a token, answers only its own host, and names a wrong parameter', async () => {
    const page = await fetch(`${dashboardUrl}/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('journey start');
    expect((await fetch(`${dashboardUrl}/api/funnel`)).status).toBe(401);
    expect((await fetch(`${dashboardUrl}/?token=not-the-token-at-all`, { redirect: 'manual' })).status).toBe(401);
    const signIn = await fetch(`${dashboardUrl}/?token=${TOKEN}&lang=fa`, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/?lang=fa');
    expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const withCookie = await fetch(`${dashboardUrl}/`, { headers: { cookie } });
    expect(withCookie.status).toBe(200);
    expect(withCookie.headers.get('content-security-policy')).toContain("script-src 'self'");
    const badWindow = await fetch(`${dashboardUrl}/api/kpis?window=14`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(badWindow.status).toBe(400);
    expect(((await badWindow.json()) as { error: string }).error).toMatch(/^window: must be one of 1, 7, 30/);
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(dashboardUrl);
      httpRequest({ host: url.hostname, port: url.port, path: '/api/live', headers: { host: 'attacker.example', cookie } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(421);
  });
});
