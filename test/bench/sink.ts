/**
 * Sink throughput: `npm run bench:sink [-- --customers 30000 --steps 6]`.
 *
 * Loads a synthetic journey workload, runs the processor over it (so all four sink topics are
 * full), then measures the sink draining them into embedded ClickHouse, exactly once (intent
 * commit, insert with token, commit per block): rows/s over all tables. In the same run the same
 * event rows are inserted straight into a copy of `journey.events` in 10,000-row blocks, the
 * ClickHouse-only ceiling; the ratio is the figure that carries across machines.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClickHouse, insertRows } from '../../services/common/clickhouse.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate } from '../../services/common/migrations.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runProcessor } from '../../services/processor/processor.ts';
import { eventRow } from '../../services/sink/rows.ts';
import { runSink, sinkGroupOf } from '../../services/sink/sink.ts';
import { validateEvent } from '../../schemas/event-contract.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { journeys } from '../helpers/journeys.ts';
import { caughtUp, processorCaughtUp, produceAll } from '../helpers/streams.ts';
import { runBench } from './harness.ts';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '30000' }, steps: { type: 'string', default: '6' } } });

runBench(
  async ({ config }) => {
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(config.topicPrefix);
    const workload = journeys({
      customers: Number(values.customers),
      start: '2026-10-01T00:00:00Z',
      days: 30,
      seed: 3,
      maxSteps: Number(values.steps),
      resend: false,
    });
    await produceAll(config, workload);
    const processor = await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('warn') });
    await processorCaughtUp(kafka, config.topicPrefix, 1_800_000);
    await processor.stop();
    console.error(`[bench] ${workload.length} events processed; sinking`);

    const clickhouse = createClickHouse(config.clickhouse);
    await migrate(clickhouse, journeyMigrations());
    const began = performance.now();
    const sink = await runSink({ kafka, registry: createRegistry(config.registry), clickhouse, config, logger: createLogger('warn') });
    await caughtUp(
      kafka,
      sinkGroupOf(config),
      [topics.events.name, topics.stageTransitions.name, topics.customerProfiles.name, topics.segmentKpis.name],
      1_800_000,
      100,
    );
    const sinkSeconds = (performance.now() - began) / 1000;
    await sink.stop();
    const rows: Record<string, number> = {};
    for (const table of ['events', 'stage_transitions', 'customer_profiles', 'customer_stages', 'segment_kpi_partials']) {
      const result = await clickhouse.query({ query: `SELECT count() AS n FROM journey.${table}`, format: 'JSONEachRow' });
      rows[table] = Number((await result.json<{ n: string }>())[0]?.n ?? 0);
    }
    const totalRows = Object.values(rows).reduce((a, b) => a + b, 0);

    // The ceiling: the same event rows, inserted directly in large blocks.
    await clickhouse.command({ query: 'CREATE TABLE journey.bench_events AS journey.events' });
    const eventRows = workload.map((raw, i) => {
      const checked = validateEvent(raw, {
        now: Date.parse('2026-11-01T00:00:00Z'),
        maxFutureSkewMs: Number.POSITIVE_INFINITY,
        maxPastMs: Number.POSITIVE_INFINITY,
      });
      if (!checked.ok) throw new Error('workload event invalid');
      return eventRow(checked.event, { partition: 0, offset: String(i), timestamp: '0' });
    });
    const directBegan = performance.now();
    for (let i = 0; i < eventRows.length; i += 10_000)
      await insertRows(clickhouse, 'journey.bench_events', eventRows.slice(i, i + 10_000), `bench-${i}`);
    const directSeconds = (performance.now() - directBegan) / 1000;
    await clickhouse.close();

    const sinkRowsPerSecond = Math.round(totalRows / sinkSeconds);
    const directRowsPerSecond = Math.round(eventRows.length / directSeconds);
    return {
      clickhouse: 'embedded chDB',
      workload: {
        events: workload.length,
        customers: Number(values.customers),
        partitions: config.kafka.topicPartitions,
        blockBytesPerPartition: config.sink.maxBytesPerPartition,
      },
      rows,
      sink: {
        rowsPerSecond: sinkRowsPerSecond,
        eventsPerSecond: Math.round(workload.length / sinkSeconds),
        secondsIncludingGroupJoin: +sinkSeconds.toFixed(1),
      },
      directInsertOfEventRows: { rowsPerSecond: directRowsPerSecond, blockRows: 10_000 },
      sinkToDirectRatio: +(sinkRowsPerSecond / directRowsPerSecond).toFixed(3),
    };
  },
  { CHDB_PATH: mkdtempSync(path.join(os.tmpdir(), 'journeyline-bench-sink-')) },
);
