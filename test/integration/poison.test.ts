/**
 * No single input stops the stream, on the real stack: valid events mixed with every bad class
 * (ancient and far-future times, ids no one can tell apart, reserved segments), a customer with
 * 100,000 events and a backfill of 101 months. The edge refuses the bad ones naming the field;
 * the same bad events written straight to Kafka go to the dead-letter topic with their reason;
 * every valid event is counted and no partition stalls.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../services/common/clickhouse.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate } from '../../services/common/migrations.ts';
import { createRegistry } from '../../services/common/registry.ts';
import type { RunningService } from '../../services/common/running-service.ts';
import { processorGroupOf, runProcessor } from '../../services/processor/processor.ts';
import { identityGroupOf } from '../../services/processor/identity/identity-step.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import { runSink, sinkGroupOf, sinkTopicsOf } from '../../services/sink/sink.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { toAvro, type JourneyEvent } from '../../schemas/event-contract.ts';
import { DEAD_LETTER_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { testConfig } from '../helpers/config.ts';
import { pageView } from '../helpers/events.ts';
import { eventId } from '../helpers/event-ids.ts';
import { consumeN } from '../helpers/kafka.ts';
import { caughtUp, processorCaughtUp, produceAll } from '../helpers/pipeline.ts';

const BUSY_EVENTS = 100_000;

describe('poison input', () => {
  const config = testConfig({
    KAFKA_TOPIC_PARTITIONS: '3',
    CLICKHOUSE_URL: '',
    EVENT_MAX_PAST_DAYS: '4000',
    SINK_BATCH_MAX_WAIT_MS: '200',
  });
  const kafka = createKafka(config.kafka, undefined);
  const registry = createRegistry(config.registry);
  const topics = topicsFor(config.topicPrefix);
  const clickhouse = createClickHouse(config.clickhouse);
  let processor: RunningService | undefined;
  let sink: RunningService | undefined;
  afterAll(async () => {
    await processor?.stop();
    await sink?.stop();
    await clickhouse.close();
  });

  // As backends would send them: each refused at the edge, naming the field.
  const bad: readonly [string, Record<string, unknown>, string][] = [
    ['a time before year 1000', pageView({ occurred_at: '0999-01-01T00:00:00Z' }), 'occurred_at'],
    ['a time in 1900', pageView({ occurred_at: '1900-01-01T00:00:00Z' }), 'occurred_at'],
    ['a time in year 3000', pageView({ occurred_at: '3000-01-01T00:00:00Z' }), 'occurred_at'],
    ['a lone surrogate in an id', pageView({ customer_id: 'c\uD800' }), 'customer_id'],
    ['a NUL in an id', pageView({ customer_id: 'c\u0000x' }), 'customer_id'],
    ['an id of zero-width spaces', pageView({ customer_id: '\u200B\u200B' }), 'customer_id'],
    ['white space around an id', pageView({ customer_id: '  busy  ' }), 'customer_id'],
    ['the reserved segment *', pageView({ segment: '*' }), 'segment'],
    [
      'an inexact money number',
      {
        ...pageView(),
        type: 'purchase',
        properties: { order_id: 'o', amount: JSON.parse('12345678901234.567') as number, currency: 'EUR' },
      },
      'properties.amount',
    ],
  ];

  it('refuses each bad class at the edge, naming the field', () => {
    const { results } = validateBatch(
      bad.map(([, event]) => event),
      { now: Date.now(), ...config.events },
    );
    expect(results.map((r) => (r.status === 'rejected' ? r.errors.map((e) => e.path) : r.status))).toEqual(bad.map(([, , path]) => [path]));
  });

  it('counts every valid event, dead-letters each invalid one with its reason, and stalls no partition', { timeout: 300_000 }, async () => {
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const schemaId = await registerEventSchema(registry, topics);
    const start = Date.now() - 3 * 86_400_000;
    const busy = Array.from({ length: BUSY_EVENTS }, (_, i) =>
      pageView({ customer_id: 'busy', session_id: `s-${Math.floor(i / 50)}`, occurred_at: new Date(start + i * 1000).toISOString() }),
    );
    // History imported oldest first, one event a month for 101 months: one insert block for the sink.
    const backfill = Array.from({ length: 101 }, (_, month) =>
      pageView({ customer_id: 'backfill', occurred_at: new Date(start - (101 - month) * 31 * 86_400_000).toISOString() }),
    );
    const persian = [pageView({ customer_id: 'مشتری‌۴۲', segment: 'خرده‌فروشی', occurred_at: new Date(start).toISOString() })];

    // Written straight to Kafka, as a producer that skips our edge could: Avro-valid, contract-invalid.
    const [template] = validateBatch([pageView({ customer_id: 'busy' })], { now: Date.now(), ...config.events }).events as [JourneyEvent];
    const poison = [
      {
        reason: /^occurred_at: must be epoch milliseconds from 2000-01-01/,
        event: { ...template, event_id: eventId(9001), occurred_at: Date.parse('0999-01-01T00:00:00Z') },
      },
      {
        reason: /^occurred_at: must be epoch milliseconds from 2000-01-01/,
        event: { ...template, event_id: eventId(9002), occurred_at: Date.parse('3000-01-01T00:00:00Z') },
      },
      {
        reason: /^customer_id: must not contain control characters$/,
        event: { ...template, event_id: eventId(9003), customer_id: 'c\u0000x' },
      },
      {
        reason: /^customer_id: must contain a visible character$/,
        event: { ...template, event_id: eventId(9004), customer_id: '\u200B' },
      },
      {
        reason: /^segment: '\*' and 'unassigned' are reserved segment names$/,
        event: { ...template, event_id: eventId(9005), segment: '*' },
      },
    ];
    const raw = createIdempotentProducer(kafka);
    await raw.connect();
    await produceAll(config, [...backfill, ...busy.slice(0, BUSY_EVENTS / 2)]);
    // Keyed like the busy customer: the poison sits in its partition, between its events.
    await raw.send({
      topic: topics.events.name,
      acks: -1,
      messages: await Promise.all(
        poison.map(async ({ event }) => ({ key: 'busy', value: await registry.encode(schemaId, toAvro(event)) })),
      ),
    });
    await produceAll(config, [...busy.slice(BUSY_EVENTS / 2), ...persian]);
    await raw.disconnect();

    await migrate(clickhouse, journeyMigrations());
    const logger = createLogger('silent');
    processor = await runProcessor({ kafka, registry, config, logger });
    sink = await runSink({ kafka, registry, clickhouse, config, logger });
    // No partition stalls: both groups commit everything, poison included.
    await processorCaughtUp(kafka, config.topicPrefix, 240_000, 1000);
    await caughtUp(kafka, sinkGroupOf(config), sinkTopicsOf(topics), 120_000, 1000);

    const rows = async (sql: string) => (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, string>>();
    expect(await rows('SELECT count() AS events, uniqExact(event_id) AS ids FROM journey.events')).toEqual([
      { events: String(BUSY_EVENTS + 101 + 1), ids: String(BUSY_EVENTS + 101 + 1) },
    ]);
    expect(await rows('SELECT customer_id, page_views FROM journey.customer_profiles FINAL ORDER BY customer_id')).toEqual([
      { customer_id: 'backfill', page_views: '101' },
      { customer_id: 'busy', page_views: String(BUSY_EVENTS) },
      { customer_id: 'مشتری‌۴۲', page_views: '1' },
    ]);

    const dead = await consumeN(kafka, topics.deadLetter.name, poison.length * 2);
    const byGroups = (...groups: string[]) =>
      dead
        .filter((m) => groups.includes(m.headers?.[DEAD_LETTER_HEADERS.consumerGroup]?.toString() ?? ''))
        .map((m) => m.headers?.[DEAD_LETTER_HEADERS.reason]?.toString() ?? '');
    // The processor sets each aside once: its identity step what its ids do not pass, its journey
    // step the rest (a reserved segment); the sink reads the events topic on its own.
    for (const groups of [[identityGroupOf(config), processorGroupOf(config)], [sinkGroupOf(config)]]) {
      const reasons = byGroups(...groups);
      expect(reasons).toHaveLength(poison.length);
      for (const { reason } of poison) {
        const alike = poison.filter((p) => String(p.reason) === String(reason)).length;
        expect(
          reasons.filter((r) => reason.test(r)),
          String(reason),
        ).toHaveLength(alike);
      }
    }
  });
});
