/**
 * Churn alerting end to end on the real stack: 48 days of event time for three segments; in one
 * (a Persian name, as our users' are) NPS detractors and customer effort rise for six days, then
 * fall back. The processor and the alerting service run as `journey run` processes, and each is
 * SIGKILLed once mid-run. Exactly one alert fires per rising signal of that segment and resolves
 * once, none for the steady segments: in the alerts topic, in ClickHouse, and at a webhook receiver
 * that checks every signature (one notification when they fire, one when they resolve).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import { DAY_MS } from '../../schemas/event-contract.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { DEAD_LETTER_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { notifierGroupOf } from '../../services/alerts/notifier.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { testConfig } from '../helpers/config.ts';
import { identityGroupName } from '../../schemas/topics.ts';
import {
  caughtUp,
  processorCaughtUp,
  committedFraction,
  exited,
  produceAll,
  runJourney,
  startJourney,
  startSink,
  stopJourney,
} from '../helpers/pipeline.ts';
import { sentEvent } from '../helpers/events.ts';
import { consumeN, readRecords } from '../helpers/kafka.ts';
import { sqlRows } from '../helpers/sql.ts';
import { webhookReceiver } from '../helpers/webhooks.ts';

const RISING = 'فروشگاه-تهران';
const STEADY = ['smb', 'enterprise'];
/** Customers who buy on day 0, visit until day 9, then fall silent: dormant (churned) on day 29. */
const CHURNERS = { segment: 'متجر-الرياض', customers: 20, lastDay: 9, dormantAfterDays: 20 };
const CUSTOMERS_PER_SEGMENT = 40;
const DAYS = 48;
/** Days of the rise: detractors and effort jump; from the day after, back to normal. */
const RISE = { from: 36, to: 41 };
const SECRET = 'test-webhook-secret-0123456789';

const dayStart = (i: number) => {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return today - (DAYS + 1 - i) * DAY_MS;
};

/**
 * One day of every customer: a page view, an NPS answer and a CES answer. Steady segments have 4–6
 * detractors of 40 and an effort of 1–3 each day (a fixed pattern, so the test never depends on
 * luck); the rising segment, during the rise, 24 detractors and an effort of 4–5.
 */
function dayOfEvents(i: number): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const segment of [RISING, ...STEADY]) {
    const rising = segment === RISING && i >= RISE.from && i <= RISE.to;
    const detractors = rising ? 24 : 4 + (i % 3);
    for (let k = 0; k < CUSTOMERS_PER_SEGMENT; k++) {
      const customer = `${segment}-${String(k)}`;
      const fields = (seconds: number) => ({
        at: dayStart(i) + 12 * 3_600_000 + k * 60_000 + seconds * 1000,
        customer_id: customer,
        segment,
        session_id: `${customer}-${String(i)}`,
      });
      const slot = (k + i * 7) % CUSTOMERS_PER_SEGMENT;
      events.push(
        sentEvent('page_view', fields(0), { page_type: 'home' }),
        sentEvent('survey_response', fields(10), { survey_type: 'nps', score: slot < detractors ? 3 : slot % 3 === 0 ? 8 : 9 }),
        sentEvent('survey_response', fields(20), { survey_type: 'ces', score: rising ? 4 + (slot % 2) : 1 + (slot % 3) }),
      );
    }
  }
  return events;
}

function churnersOn(i: number): Record<string, unknown>[] {
  if (i > CHURNERS.lastDay) return [];
  return Array.from({ length: CHURNERS.customers }, (_, k) => {
    const customer = `${CHURNERS.segment}-${String(k)}`;
    const fields = { at: dayStart(i) + 9 * 3_600_000 + k * 60_000, customer_id: customer, segment: CHURNERS.segment };
    return i === 0
      ? sentEvent('purchase', fields, { order_id: `o-${customer}`, amount: '25.00', currency: 'SAR', items: 1 })
      : sentEvent('page_view', fields, { page_type: 'home' });
  });
}

const days = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, n) => [...dayOfEvents(from + n), ...churnersOn(from + n)]).flat();

describe('churn alerting', () => {
  it(
    'fires once per rising signal of one segment and resolves once, through SIGKILLs, in the topic, ClickHouse and at the webhook',
    { timeout: 600_000 },
    async () => {
      const receiver = await webhookReceiver(SECRET);
      const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
      const env = {
        TOPIC_PREFIX: config.topicPrefix,
        KAFKA_TOPIC_PARTITIONS: '3',
        ALERT_GROUP_WAIT_S: '2',
        // The rise is 8–13 days back in event time: within the horizon of what notifies.
        ALERT_NOTIFY_WITHIN_DAYS: '30',
        // The SIGKILLed processes' partitions move on sooner.
        PROCESSOR_SESSION_TIMEOUT_MS: '10000',
        ALERT_SESSION_TIMEOUT_MS: '10000',
        ALERT_WEBHOOKS: JSON.stringify([{ name: 'cs-team', url: receiver.url, secret: SECRET }]),
        DORMANT_AFTER_DAYS: String(CHURNERS.dormantAfterDays),
        LOG_LEVEL: 'info',
      };
      const kafka = createKafka(config.kafka, undefined);
      const topics = topicsFor(config.topicPrefix);
      await ensureTopics(kafka, config.kafka, Object.values(topics));
      const log: string[] = [];
      const children: ChildProcess[] = [];
      const start = (service: string) => {
        const child = startJourney(['run', service], env, log);
        children.push(child);
        return child;
      };
      const alertsInTopic = async (): Promise<AlertRecord[]> =>
        (await readRecords(kafka, createRegistry(config.registry), topics.alerts.name, TOPIC_RECORDS.alerts, [0, 1, 2])).flatMap(
          ({ value }) => (value === null ? [] : [value]),
        );
      const sink = await startSink(config, mkdtempSync(path.join(tmpdir(), 'journeyline-alerting-')), log);
      children.push(sink.child);
      try {
        // A record no processor wrote, among the shares: the detector must set it aside and go on.
        const poison = createIdempotentProducer(kafka);
        await poison.connect();
        await poison.send({ topic: topics.segmentKpis.name, messages: [{ key: 'smb|2026-01-01|0', value: 'not a share' }], acks: -1 });
        await poison.disconnect();
        let processor = start('processor');
        let alerts = start('alerts');

        // Phase 1, up to the end of the rise; the processor is killed halfway and restarted.
        await produceAll(config, days(0, 20));
        await pollUntil(
          async () =>
            (await committedFraction(kafka, identityGroupName(config.topicPrefix), [topics.events.name])) > 0.05 ? true : undefined,
          { timeoutMs: 60_000, what: 'the processor to be under way' },
        );
        processor.kill('SIGKILL');
        await exited(processor);
        await produceAll(config, days(21, RISE.to));
        processor = start('processor');
        await processorCaughtUp(kafka, config.topicPrefix, 180_000);

        const fired = await pollUntil(
          async () => {
            const records = (await alertsInTopic()).filter((r) => r.segment === RISING && r.change === 'fired');
            return records.length >= 2 ? records : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 1000, what: `both alerts of ${RISING} to fire` },
        );
        expect(fired.map((r) => r.signal).sort()).toEqual(['ces_mean', 'detractor_share']);

        // Told once (the two signals together), the alerting service dies; its successor must neither fire nor notify again.
        await pollUntil(() => Promise.resolve(receiver.deliveries.some((d) => d.body.segment === RISING) ? true : undefined), {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: 'the firing notification',
        });
        // ...and has committed past it (delivery is at least once: killed between the POST and the commit, it would tell again).
        await caughtUp(kafka, notifierGroupOf(config, 'cs-team'), [topics.alerts.name], 30_000);
        alerts.kill('SIGKILL');
        await exited(alerts);
        alerts = start('alerts');

        // Phase 2: back to normal, and a day more so the last one is complete.
        await produceAll(config, days(RISE.to + 1, DAYS - 1));
        await processorCaughtUp(kafka, config.topicPrefix, 180_000);
        const records = await pollUntil(
          async () => {
            const all = await alertsInTopic();
            return all.filter((r) => r.segment === RISING && r.change === 'resolved').length >= 2 ? all : undefined;
          },
          { timeoutMs: 180_000, intervalMs: 1000, what: `both alerts of ${RISING} to resolve` },
        );

        // The topic: per rising signal one alert, fired once and resolved once; nothing for the steady segments.
        const ofRising = records.filter((r) => r.segment === RISING);
        for (const signal of ['detractor_share', 'ces_mean']) {
          const changes = ofRising.filter((r) => r.signal === signal);
          expect(new Set(changes.map((r) => r.alert_id)).size).toBe(1);
          expect(changes.filter((r) => r.change === 'fired')).toHaveLength(1);
          expect(changes.filter((r) => r.change === 'resolved')).toHaveLength(1);
          expect(changes.map((r) => r.revision)).toEqual(changes.map((_, n) => n + 1));
        }
        expect(new Set(ofRising.map((r) => r.signal))).toEqual(new Set(['detractor_share', 'ces_mean']));
        expect(records.filter((r) => STEADY.includes(r.segment))).toEqual([]);
        // All segments together rise a little too; whatever `*` does, never an alert twice.
        const ofAll = records.filter((r) => r.segment === '*');
        for (const signal of new Set(ofAll.map((r) => r.signal)))
          expect(ofAll.filter((r) => r.signal === signal && r.change === 'fired').length).toBeLessThanOrEqual(1);

        // ClickHouse: the latest state of each alert.
        const base = await sink.url();
        const rows = await pollUntil(
          async () => {
            const found = await sqlRows<{ segment: string; signal: string; status: string; revision: number; sample_size: string }>(
              base,
              'SELECT segment, signal, status, revision, sample_size FROM journey.alerts_latest WHERE segment = {rising:String} ORDER BY signal',
              { rising: RISING },
            );
            return found.length === 2 && found.every((r) => r.status === 'resolved') ? found : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: 'the resolved alerts in ClickHouse' },
        );
        expect(rows.map((r) => [r.segment, r.signal, r.status])).toEqual([
          [RISING, 'ces_mean', 'resolved'],
          [RISING, 'detractor_share', 'resolved'],
        ]);
        expect(rows.every((r) => Number(r.sample_size) === CUSTOMERS_PER_SEGMENT)).toBe(true);

        // The KPI model: retention of the steady segments (everyone comes back), churn of the churners.
        const dayName = (i: number) => new Date(dayStart(i)).toISOString().slice(0, 10);
        const kpis = await sqlRows(
          base,
          `SELECT segment, day, window_days, churned_customers, churn_rate_pct, dormant_customers, returning_visitors, previous_visitors, retention_rate_pct
           FROM journey.segment_kpis WHERE segment IN ('smb', {churners:String}) AND day IN ({d20:Date}, {d29:Date}, {d31:Date}) ORDER BY segment, day, window_days`,
          { churners: CHURNERS.segment, d20: dayName(20), d29: dayName(29), d31: dayName(31) },
        );
        const kpi = (segment: string, i: number, windowDays: number) =>
          kpis.find((r) => r.segment === segment && r.day === dayName(i) && r.window_days === windowDays);
        expect(kpi('smb', 20, 1)).toMatchObject({ returning_visitors: '40', previous_visitors: '40', retention_rate_pct: 100 });
        expect(kpi('smb', 20, 7)).toMatchObject({ returning_visitors: '40', previous_visitors: '40', retention_rate_pct: 100 });
        expect(kpi(CHURNERS.segment, 29, 1)).toMatchObject({ churned_customers: '20', churn_rate_pct: 100, dormant_customers: '20' });
        expect(kpi(CHURNERS.segment, 20, 1)).toMatchObject({ churned_customers: '0', churn_rate_pct: 0, retention_rate_pct: null });
        expect(kpi(CHURNERS.segment, 31, 7)).toMatchObject({ churned_customers: '20', churn_rate_pct: 100 });

        // The webhook: every POST signed; one notification of the segment when both fired, one when both resolved.
        const told = await pollUntil(
          () => {
            const ofSegment = receiver.deliveries.filter((d) => d.body.segment === RISING);
            return Promise.resolve(ofSegment.some((d) => d.body.alerts.some((a) => a.change === 'resolved')) ? ofSegment : undefined);
          },
          { timeoutMs: 120_000, intervalMs: 500, what: 'the resolved notification' },
        );
        expect(receiver.deliveries.every((d) => d.signed)).toBe(true);
        const distinct = [...new Map(told.map((d) => [d.id, d])).values()];
        expect(distinct.map((d) => d.body.alerts.map((a) => `${a.signal}:${a.change}`).sort())).toEqual([
          ['ces_mean:fired', 'detractor_share:fired'],
          ['ces_mean:resolved', 'detractor_share:resolved'],
        ]);
        expect(receiver.deliveries.filter((d) => STEADY.includes(d.body.segment))).toEqual([]);

        // The poison share went to the dead-letter topic, named by its source and why.
        const [dead] = await consumeN(kafka, topics.deadLetter.name, 1);
        expect(dead?.headers?.[DEAD_LETTER_HEADERS.sourceTopic]?.toString()).toBe(topics.segmentKpis.name);
        expect(dead?.headers?.[DEAD_LETTER_HEADERS.reason]?.toString()).toMatch(/does not start with the Confluent magic byte/);

        // `journey alerts`, as an operator runs it: the list, then a snooze that lands beside the alerts (after the last notification: it would silence it).
        const cli = { TOPIC_PREFIX: config.topicPrefix, QUERY_URL: base, CLICKHOUSE_URL: '' };
        const listed = await runJourney(['alerts', '--segment', RISING, '--since', '30d', '--format', 'JSONEachRow'], cli);
        expect(listed.code).toBe(0);
        const lines = listed.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { signal: string; status: string });
        expect(lines.map((l) => [l.signal, l.status]).sort()).toEqual([
          ['ces_mean', 'resolved'],
          ['detractor_share', 'resolved'],
        ]);
        expect(await runJourney(['alerts', 'snooze', RISING, '--for', '2h', '--by', 'test'], cli)).toMatchObject({ code: 0 });
        expect(await runJourney(['alerts', 'snooze', RISING], cli)).toMatchObject({ code: 2 });
        await pollUntil(
          async () =>
            (await sqlRows(base, 'SELECT target FROM journey.alert_actions FINAL WHERE action = {a:String}', { a: 'snooze' })).length === 1
              ? true
              : undefined,
          { timeoutMs: 30_000, intervalMs: 500, what: 'the snooze in journey.alert_actions' },
        );
      } finally {
        for (const child of children)
          if (child.exitCode === null && child.signalCode === null) await stopJourney(child).catch(() => undefined);
        receiver.server.close();
      }
    },
  );
});
