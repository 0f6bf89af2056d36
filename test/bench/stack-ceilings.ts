/**
 * What the engines under the pipeline do on this machine with nothing of ours in the loop, for
 * `npm run bench` to set its figures against in the same run:
 * - Kafka: raw kafkajs produce (idempotent, acks=all, batches of 1,000) and raw consume
 *   (eachBatch, no work) of the Avro events, on a topic of their own;
 * - ClickHouse: the cost of one insert of one row (what every sink block pays, however small),
 *   and rows/s of event rows and KPI share rows inserted directly in large blocks, through the same
 *   client and settings as the sink (embedded chDB in a directory of its own, or the server).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';
import { JOURNEY_EVENT_AVSC, partitionKeyOf, toAvro, type JourneyEvent } from '../../schemas/event-contract.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import type { Config } from '../../services/common/config.ts';
import { createClickHouse, insertRows } from '../../services/common/clickhouse.ts';
import { createIdempotentProducer, ensureTopics } from '../../services/common/kafka.ts';
import { migrate } from '../../services/common/migrations.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { PartitionState } from '../../services/processor/state/partition-state.ts';
import { validateBatch } from '../../services/producer/event-producer.ts';
import { eventRow, kpiRecordRow, transitionRow } from '../../services/sink/rows.ts';
import { journeys } from '../helpers/journeys.ts';

const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));

/** The generator's journeys as validated events, and the KPI shares a processor partition publishes for them (flushed every 500 events). */
export function sampleRecords(config: Config, customers: number): { events: JourneyEvent[]; shares: SegmentKpiRecord[] } {
  const workload = journeys({ customers, start: '2026-10-01T00:00:00Z', days: 30, seed: 2, maxSteps: 4 });
  const { events } = validateBatch(workload, { now: Date.parse('2026-11-15T00:00:00Z'), ...config.events });
  const state = new PartitionState(0, config.processor);
  const shares: SegmentKpiRecord[] = [];
  events.forEach((event, i) => {
    state.apply(partitionKeyOf(event), event);
    if (i % 500 === 499) shares.push(...state.flush(i + 1).windows);
  });
  return { events, shares };
}

export async function kafkaCeiling(kafka: Kafka, config: Config, events: readonly JourneyEvent[]) {
  const topic = { name: `${config.topicPrefix}ceiling-${randomUUID().slice(0, 8)}`, compacted: false };
  await ensureTopics(kafka, config.kafka, [topic]);
  const type = avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema);
  const header = Buffer.from([0, 0, 0, 0, 1]);
  const messages = events.map((event) => ({ key: partitionKeyOf(event), value: Buffer.concat([header, type.toBuffer(toAvro(event))]) }));
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const produceBegan = performance.now();
  for (let i = 0; i < messages.length; i += 1000)
    await producer.send({ topic: topic.name, messages: messages.slice(i, i + 1000), acks: -1 });
  const produceMs = performance.now() - produceBegan;
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic.name}.raw`, maxBytesPerPartition: config.processor.maxBytesPerPartition });
  let consumed = 0;
  let first = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  await consumer.run({
    eachBatch: ({ batch }) => {
      if (first === 0) first = performance.now();
      consumed += batch.messages.length;
      return Promise.resolve();
    },
  });
  await pollUntil(() => Promise.resolve(consumed >= messages.length ? true : undefined), { timeoutMs: 120_000, what: 'the raw consumer' });
  const consumeMs = performance.now() - first;
  await consumer.disconnect();
  return {
    messages: messages.length,
    produceMessagesPerSecond: perSecond(messages.length, produceMs),
    consumeMessagesPerSecond: perSecond(messages.length, consumeMs),
  };
}

export async function clickHouseCeiling(config: Config, events: readonly JourneyEvent[], shares: readonly SegmentKpiRecord[]) {
  const embedded = config.clickhouse.url === undefined;
  const clickhouse = createClickHouse(
    embedded ? { ...config.clickhouse, chdbPath: mkdtempSync(path.join(tmpdir(), 'journeyline-ceiling-')) } : config.clickhouse,
  );
  try {
    await migrate(clickhouse, journeyMigrations());
    const at = { partition: 0, offset: '0', timestamp: String(Date.now()) };
    // The fixed cost of a block: one-row inserts, the median of 30.
    const oneRow: number[] = [];
    for (let i = 0; i < 30; i++) {
      const row = transitionRow(
        {
          customer_id: `c${i}`,
          segment: null,
          from_stage: 'unaware',
          to_stage: 'discovery',
          at: new Date().toISOString(),
          event_id: randomUUID(),
        },
        at,
      );
      const began = performance.now();
      await insertRows(clickhouse, 'journey.stage_transitions', [row], randomUUID());
      oneRow.push(performance.now() - began);
    }
    oneRow.sort((a, b) => a - b);
    const blocks = async (table: string, rows: readonly object[], blockRows: number) => {
      const began = performance.now();
      for (let i = 0; i < rows.length; i += blockRows) await insertRows(clickhouse, table, rows.slice(i, i + blockRows), randomUUID());
      return { rows: rows.length, blockRows, rowsPerSecond: perSecond(rows.length, performance.now() - began) };
    };
    return {
      clickhouse: embedded ? 'embedded chDB' : 'server',
      oneRowInsertMs: +(oneRow[15] ?? 0).toFixed(1),
      eventRows: await blocks(
        'journey.events',
        events.map((event, i) => eventRow(event, { ...at, offset: String(i) })),
        10_000,
      ),
      kpiRecordRows: await blocks(
        'journey.segment_kpi_partials',
        shares.map((share, i) => kpiRecordRow(share, { ...at, offset: String(i) })),
        1_000,
      ),
    };
  } finally {
    await clickhouse.close();
  }
}
