/**
 * The engagement signals on the real stack (`journey run processor` and `journey run sink`):
 * an event a producer still on the schema before social engagement and carts wrote decodes and
 * counts; social engagement counts per action and network, with the sentiment of an Arabic reply;
 * a checkout counts as completed although its purchase arrived first, another as abandoned; and
 * CSAT on 5, 7 and 10 points and CES as agreement on 7 land in segment_kpis on the 1–5 scale.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { partitionKeyOf, toAvro } from '../../schemas/event-contract.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import { testConfig } from '../helpers/config.ts';
import { eventsOfDay } from '../helpers/events.ts';
import { processorCaughtUp, produceAll, startJourney, startSink, stopJourney } from '../helpers/pipeline.ts';
import { eventSchemaWithout } from '../helpers/schemas.ts';
import { sqlRows } from '../helpers/sql.ts';

describe('engagement signals', () => {
  it(
    'counts social engagement, checkouts whatever the arrival order, surveys on every scale, and events of the previous schema',
    { timeout: 180_000 },
    async () => {
      const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '2' });
      const topics = topicsFor(config.topicPrefix);
      const kafka = createKafka(config.kafka, undefined);
      await ensureTopics(kafka, config.kafka, Object.values(topics));
      const env = { TOPIC_PREFIX: config.topicPrefix, KAFKA_TOPIC_PARTITIONS: '2' };
      const { day, event } = eventsOfDay({ segment: 'shop', channel: 'app', daysAgo: 2 });

      // A backend still on the schema before social engagement and carts: its page view goes first.
      const registry = createRegistry(config.registry);
      const previousId = await registerEventSchema(
        registry,
        topics,
        eventSchemaWithout(['social_engagement', 'cart', 'SocialEngagement', 'CartActivity']),
      );
      const [old] = validateBatch([event('old-app', 8, 'page_view', { url: 'https://shop.example/', page_type: 'home' })], {
        now: Date.now(),
        ...config.events,
      }).events;
      if (old === undefined) throw new Error('the old event is invalid');
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: topics.events.name,
        messages: [{ key: partitionKeyOf(old), value: await registry.encode(previousId, toAvro(old)) }],
      });
      await producer.disconnect();

      const checkout = { url: 'https://shop.example/checkout', page_type: 'checkout' };
      await produceAll(config, [
        // The purchase arrives before the checkout it completes (a lagging device).
        event('p', 9.75, 'purchase', { order_id: 'o-1', amount: '250000', currency: 'IRR' }),
        event('p', 9, 'social_engagement', { action: 'video_view', network: 'aparat', post_id: 'v-1' }),
        event('p', 9.05, 'social_engagement', { action: 'reply', network: 'x', comment: 'خدمة سيئة جدا، لن أشتري مرة أخرى' }),
        event('p', 9.1, 'cart', { action: 'add_to_cart', cart_id: 'k', product_id: 'sku-1', quantity: 1 }),
        event('p', 9.15, 'cart', { action: 'remove_from_cart', cart_id: 'k', product_id: 'sku-1', quantity: 1 }),
        // One checkout: its page view and its cart event.
        event('p', 9.25, 'page_view', checkout),
        event('p', 9.26, 'cart', { action: 'checkout_started', cart_id: 'k' }),
        // Another, two hours on, never paid for.
        event('p', 11, 'cart', { action: 'checkout_started', cart_id: 'k2' }),
        event('q', 12, 'survey_response', { survey_type: 'csat', score: 9, scale: 10 }),
        event('q', 12.1, 'survey_response', { survey_type: 'csat', score: 7, scale: 7 }),
        event('q', 12.2, 'survey_response', { survey_type: 'csat', score: 3 }),
        event('q', 12.3, 'survey_response', { survey_type: 'ces', score: 6, scale: 7, ces_form: 'agreement' }),
        event('q', 12.4, 'survey_response', { survey_type: 'ces', score: 3 }),
      ]);

      const log: string[] = [];
      const children: ChildProcess[] = [];
      try {
        const sink = await startSink(config, mkdtempSync(path.join(tmpdir(), 'journeyline-engagement-')), log, env);
        children.push(sink.child);
        children.push(startJourney(['run', 'processor'], env, log));
        await processorCaughtUp(kafka, config.topicPrefix, 120_000);
        const url = await sink.url();
        const kpis = await pollUntil(
          async () => {
            const [row] = await sqlRows(
              url,
              `SELECT visitors, page_views, orders, social_engagements, social_video_views, social_replies, social_by_network,
                      negative_social_comment_pct, cart_adds, cart_removals, checkouts_started, abandoned_checkouts,
                      cart_abandonment_rate_pct, csat, csat_pct, csat_responses, ces, ces_responses
               FROM journey.segment_kpis_daily WHERE segment = 'shop' AND day = {day:Date}`,
              { day },
            );
            return row?.ces_responses === '2' && row.visitors === '2' && row.orders === '1' ? row : undefined;
          },
          { timeoutMs: 90_000, what: "the day's KPIs to land" },
        );
        expect(kpis).toEqual({
          // The old backend's visitor and p, whose checkout page view is a page view too.
          visitors: '2',
          page_views: '2',
          orders: '1',
          social_engagements: '2',
          social_video_views: '1',
          social_replies: '1',
          social_by_network: { aparat: '1', x: '1' },
          negative_social_comment_pct: 100,
          cart_adds: '1',
          cart_removals: '1',
          checkouts_started: '2',
          abandoned_checkouts: '1',
          cart_abandonment_rate_pct: 50,
          // (9 of 10 → 4.556) + (7 of 7 → 5) + 3, over 3; two of them 4 or more of 5.
          csat: 4.1853,
          csat_pct: 66.6667,
          csat_responses: '3',
          // Agreeing 6 of 7 is effort 2 of 7 → 1.667 of 5; with a 3: 2.3335.
          ces: 2.3335,
          ces_responses: '2',
        });
        const events = await sqlRows(
          url,
          "SELECT customer_id, type, url FROM journey.events FINAL WHERE customer_id = 'old-app' OR type = 'cart' ORDER BY occurred_at",
        );
        expect(events).toEqual([
          { customer_id: 'old-app', type: 'page_view', url: 'https://shop.example/' },
          { customer_id: 'p', type: 'cart', url: null },
          { customer_id: 'p', type: 'cart', url: null },
          { customer_id: 'p', type: 'cart', url: null },
          { customer_id: 'p', type: 'cart', url: null },
        ]);
        const stages = await sqlRows(url, "SELECT customer_id, stage FROM journey.customer_stages FINAL WHERE customer_id = 'p'");
        expect(stages).toEqual([{ customer_id: 'p', stage: 'conversion' }]);
      } finally {
        await Promise.allSettled(children.map((child) => stopJourney(child)));
      }
    },
  );
});
