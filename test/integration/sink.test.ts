/**
 * The sink on the real stack and embedded ClickHouse: valid records land in their tables, poison
 * on any of its topics goes to the dead-letter topic with the reason; migrations apply once and
 * refuse an applied migration that changed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../services/common/clickhouse.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate, MigrationError } from '../../services/common/migrations.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import type { RunningService } from '../../services/common/running-service.ts';
import { runSink } from '../../services/sink/sink.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { toAvro, type JourneyEvent } from '../../schemas/event-contract.ts';
import { DEAD_LETTER_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { testConfig } from '../helpers/config.ts';
import { pageView } from '../helpers/events.ts';
import { consumeN, encodersFor } from '../helpers/kafka.ts';

describe('sink', () => {
  const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1', CLICKHOUSE_URL: '', SINK_BATCH_MAX_WAIT_MS: '100' });
  const clickhouse = createClickHouse(config.clickhouse);
  let sink: RunningService | undefined;
  afterAll(async () => {
    await sink?.stop();
    await clickhouse.close();
  });

  it('applies migrations once, and refuses one that changed after it was applied', async () => {
    const migrations = journeyMigrations();
    expect((await migrate(clickhouse, migrations)).applied).toEqual([
      '001_events',
      '002_processor_outputs',
      '003_alerts',
      '004_rolling_views',
      '005_money_by_currency',
      '006_customers_at_risk',
      '007_churn_alerting',
      '008_comment_sentiment',
      '009_kpi_definitions',
      '010_social_and_carts',
      '011_identity_links',
      'views',
    ]);
    expect(await migrate(clickhouse, migrations)).toEqual({ applied: [], alreadyApplied: 12 });
    const edited = migrations.map((m) => (m.version === 3 ? { ...m, checksum: 'f'.repeat(64) } : m));
    await expect(migrate(clickhouse, edited)).rejects.toThrow(MigrationError);
    await expect(migrate(clickhouse, edited)).rejects.toThrow('migration 003_alerts changed after it was applied');
    // The views are edited in place: a changed views.sql is applied again, and only it.
    const views = migrations.map((m) => (m.repeatable ? { ...m, checksum: 'e'.repeat(64) } : m));
    expect(await migrate(clickhouse, views)).toEqual({ applied: ['views'], alreadyApplied: 11 });
    expect(await migrate(clickhouse, views)).toEqual({ applied: [], alreadyApplied: 12 });
  });

  it('writes valid records to their tables and sends poison to the dead-letter topic with the reason', async () => {
    const kafka = createKafka(config.kafka, undefined);
    const registry = createRegistry(config.registry);
    const topics = topicsFor(config.topicPrefix);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const schemaId = await registerEventSchema(registry, topics);
    const [event] = validateBatch([pageView({ customer_id: 'sink-1' })], {
      now: Date.now(),
      maxFutureSkewMs: 0,
      maxPastMs: 365 * 86_400_000,
    }).events as [JourneyEvent];
    const transition = {
      customer_id: 'sink-1',
      segment: null,
      from_stage: 'unaware',
      to_stage: 'discovery',
      at: new Date(event.occurred_at).toISOString(),
      event_id: event.event_id,
    };
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: topics.events.name,
      acks: -1,
      messages: [
        { key: 'x', value: Buffer.from('not avro') },
        { key: 'sink-1', value: await registry.encode(schemaId, toAvro(event)) },
      ],
    });
    const encode = await encodersFor(registry, topics, 'stageTransitions');
    await producer.send({
      topic: topics.stageTransitions.name,
      acks: -1,
      messages: [
        // JSON, as these topics held before they were Avro; then a record Avro takes but the contract does not.
        { key: 'y', value: JSON.stringify(transition) },
        { key: 'z', value: encode.stageTransitions({ ...transition, event_id: 'not-a-uuid' }) },
        { key: 'sink-1', value: encode.stageTransitions(transition) },
      ],
    });
    await producer.disconnect();

    await migrate(clickhouse, journeyMigrations());
    sink = await runSink({ kafka, registry, clickhouse, config, logger: createLogger('silent') });
    const rows = await pollUntil(
      async () => {
        const result = await clickhouse.query({
          query:
            "SELECT (SELECT count() FROM journey.events WHERE customer_id = 'sink-1') AS events, (SELECT count() FROM journey.stage_transitions WHERE customer_id = 'sink-1') AS transitions",
          format: 'JSONEachRow',
        });
        const [row] = await result.json<{ events: string; transitions: string }>();
        return row?.events === '1' && row.transitions === '1' ? row : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the valid records in ClickHouse' },
    );
    expect(rows).toEqual({ events: '1', transitions: '1' });

    const dead = await consumeN(kafka, topics.deadLetter.name, 3);
    const reasons = dead
      .map(
        (m) =>
          `${m.key?.toString() ?? ''} ${m.headers?.[DEAD_LETTER_HEADERS.stage]?.toString() ?? ''}: ${m.headers?.[DEAD_LETTER_HEADERS.reason]?.toString() ?? ''}`,
      )
      .sort();
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toBe('x decode: value does not start with the Confluent magic byte 0 (got 110)');
    expect(reasons[1]).toBe('y decode: value does not start with the Confluent magic byte 0 (got 123)');
    expect(reasons[2]).toMatch(/^z validate: event_id: /);
  });

  it('writes a block of events from 101 different months (a backfill): more partitions than one insert may make by default', async () => {
    const kafka = createKafka(config.kafka, undefined);
    const registry = createRegistry(config.registry);
    const topics = topicsFor(config.topicPrefix);
    const schemaId = await registerEventSchema(registry, topics);
    const now = Date.now();
    const inputs = Array.from({ length: 101 }, (_, month) =>
      pageView({ customer_id: 'backfill', occurred_at: new Date(now - (month + 1) * 31 * 86_400_000).toISOString() }),
    );
    const { events } = validateBatch(inputs, { now, maxFutureSkewMs: 0, maxPastMs: Number.POSITIVE_INFINITY });
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    // One send, one partition: one fetch, one insert block.
    await producer.send({
      topic: topics.events.name,
      acks: -1,
      messages: await Promise.all(events.map(async (e) => ({ key: 'backfill', value: await registry.encode(schemaId, toAvro(e)) }))),
    });
    await producer.disconnect();
    const landed = await pollUntil(
      async () => {
        const result = await clickhouse.query({
          query: "SELECT count() AS rows, uniqExact(toYYYYMM(occurred_at)) AS months FROM journey.events WHERE customer_id = 'backfill'",
          format: 'JSONEachRow',
        });
        const [row] = await result.json<{ rows: string; months: string }>();
        return row?.rows === '101' ? row : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: '101 backfilled events in ClickHouse' },
    );
    expect(landed).toEqual({ rows: '101', months: '101' });
  });
});
