/**
 * CONVERSION_EVENTS on the real stack: a B2B business counts a demo request as the conversion,
 * not a purchase. The processor (`journey run processor`) and the sink run with that setting; a
 * lead who requests a demo converts, a customer who only buys does not, and the day's conversion
 * rate in ClickHouse is the lead's: one converted visitor of two.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { topicsFor } from '../../schemas/topics.ts';
import { createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { testConfig } from '../helpers/config.ts';
import { eventsOfDay } from '../helpers/events.ts';
import { processorCaughtUp, produceAll, startJourney, startSink, stopJourney } from '../helpers/pipeline.ts';
import { sqlRows } from '../helpers/sql.ts';

describe('CONVERSION_EVENTS', () => {
  it('converts a lead on a demo request and not a buyer, in stages and in the conversion rate', { timeout: 180_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
    const topics = topicsFor(config.topicPrefix);
    const kafka = createKafka(config.kafka, undefined);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const env = { TOPIC_PREFIX: config.topicPrefix, KAFKA_TOPIC_PARTITIONS: '3', CONVERSION_EVENTS: 'form:demo_request' };
    const log: string[] = [];
    const children: ChildProcess[] = [];
    try {
      const sink = await startSink(config, mkdtempSync(path.join(tmpdir(), 'journeyline-conversions-')), log, env);
      children.push(sink.child);
      children.push(startJourney(['run', 'processor'], env, log));
      const { day, event } = eventsOfDay({ segment: 'b2b', daysAgo: 2 });
      await produceAll(config, [
        event('lead', 9, 'page_view', { url: 'https://saas.example/pricing', page_type: 'pricing' }),
        event('lead', 10, 'form_submission', { form_id: 'demo', form_type: 'demo_request' }),
        event('buyer', 11, 'page_view', { url: 'https://saas.example/', page_type: 'home' }),
        event('buyer', 12, 'purchase', { order_id: 'o-1', amount: '99.00', currency: 'EUR' }),
      ]);
      await processorCaughtUp(kafka, config.topicPrefix, 120_000);
      const url = await sink.url();
      const stages = await pollUntil(
        async () => {
          const rows = await sqlRows<{ customer_id: string; stage: string }>(
            url,
            'SELECT customer_id, stage FROM journey.customer_stages FINAL ORDER BY customer_id',
          );
          return rows.length === 2 ? rows : undefined;
        },
        { timeoutMs: 60_000, what: 'both customers to land' },
      );
      // The buyer bought, but a purchase is not a conversion here; nor is one product view consideration.
      expect(stages).toEqual([
        { customer_id: 'buyer', stage: 'discovery' },
        { customer_id: 'lead', stage: 'conversion' },
      ]);
      const [kpis] = await pollUntil(
        async () => {
          const rows = await sqlRows<{ visitors: string; buyers: string; converted_visitors: string; conversion_rate_pct: number }>(
            url,
            "SELECT visitors, buyers, converted_visitors, conversion_rate_pct FROM journey.segment_kpis_daily WHERE segment = 'b2b' AND day = {day:Date}",
            { day },
          );
          return rows[0]?.visitors === '2' && rows[0].buyers === '1' ? rows : undefined;
        },
        { timeoutMs: 60_000, what: "the day's KPIs to land" },
      );
      expect(kpis).toEqual({ visitors: '2', buyers: '1', converted_visitors: '1', conversion_rate_pct: 50 });
    } finally {
      await Promise.allSettled(children.map((child) => stopJourney(child)));
    }
  });
});
