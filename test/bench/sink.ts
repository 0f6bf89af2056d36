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
import { loadConfig } from '../../services/common/config.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate } from '../../services/common/migrations.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { EventProducer } from '../../services/producer/event-producer.ts';
import { processorGroupOf, runProcessor } from '../../services/processor/processor.ts';
import { eventRow } from '../../services/sink/rows.ts';
import { runSink, sinkGroupOf } from '../../services/sink/sink.ts';
import { validateEvent, type JourneyEvent } from '../../schemas/event-contract.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { acquireStack } from '../../infra/stack/acquire.ts';
import { endpointsAsEnv } from '../../infra/stack/endpoints.ts';
import { journeys } from '../helpers/journeys.ts';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '30000' }, steps: { type: 'string', default: '6' } } });

async function main(): Promise<void> {
  const stack = await acquireStack(loadConfig(), process.env, (line) => {
    console.error(`[stack] ${line}`);
  });
  try {
    const prefix = `bench.${Date.now().toString(36)}.`;
    const config = loadConfig({ ...process.env, ...endpointsAsEnv(stack.endpoints), TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', CHDB_PATH: mkdtempSync(path.join(os.tmpdir(), 'journeyline-bench-sink-')) });
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(prefix);
    const workload = journeys({ customers: Number(values.customers), start: '2026-10-01T00:00:00Z', days: 30, seed: 3, maxSteps: Number(values.steps), resend: false });
    const producer = await EventProducer.connect({ kafka, registry: createRegistry(config.registry), kafkaSettings: config.kafka, topics, maxFutureSkewMs: 300_000 });
    for (let i = 0; i < workload.length; i += 1000) await producer.send(workload.slice(i, i + 1000));
    await producer.close();

    const admin = kafka.admin();
    await admin.connect();
    const lagFree = async (groupId: string, names: readonly string[]) => {
      let total = 0;
      let done = 0;
      for (const topic of names) {
        total += (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        done += (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      }
      return done >= total ? true : undefined;
    };
    const processor = await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('warn') });
    await pollUntil(() => lagFree(processorGroupOf(config), [topics.events.name]), { timeoutMs: 1_800_000, intervalMs: 200, what: 'the processor' });
    await processor.stop();
    console.error(`[bench] ${workload.length} events processed; sinking`);

    const clickhouse = createClickHouse(config.clickhouse);
    await migrate(clickhouse, journeyMigrations());
    const sinkTopics = [topics.events.name, topics.stageTransitions.name, topics.customerProfiles.name, topics.segmentKpis.name];
    const began = performance.now();
    const sink = await runSink({ kafka, registry: createRegistry(config.registry), clickhouse, config, logger: createLogger('warn') });
    await pollUntil(() => lagFree(sinkGroupOf(config), sinkTopics), { timeoutMs: 1_800_000, intervalMs: 100, what: 'the sink' });
    const sinkSeconds = (performance.now() - began) / 1000;
    await sink.stop();
    await admin.disconnect();
    const tables = ['events', 'stage_transitions', 'customer_profiles', 'customer_stages', 'segment_kpi_partials'];
    const rows: Record<string, number> = {};
    for (const table of tables) {
      const result = await clickhouse.query({ query: `SELECT count() AS n FROM journey.${table}`, format: 'JSONEachRow' });
      rows[table] = Number((await result.json<{ n: string }>())[0]?.n ?? 0);
    }
    const totalRows = Object.values(rows).reduce((a, b) => a + b, 0);

    // The ceiling: the same event rows, inserted directly in large blocks.
    await clickhouse.command({ query: 'CREATE TABLE journey.bench_events AS journey.events' });
    const eventRows = workload.map((raw, i) => {
      const checked = validateEvent(raw, { now: Date.parse('2026-11-01T00:00:00Z'), maxFutureSkewMs: Number.POSITIVE_INFINITY });
      if (!checked.ok) throw new Error('workload event invalid');
      return eventRow(checked.event satisfies JourneyEvent, { partition: 0, offset: String(i), timestamp: '0' });
    });
    const directBegan = performance.now();
    for (let i = 0; i < eventRows.length; i += 10_000) await insertRows(clickhouse, 'journey.bench_events', eventRows.slice(i, i + 10_000), `bench-${i}`);
    const directSeconds = (performance.now() - directBegan) / 1000;
    await clickhouse.close();

    const sinkRowsPerSecond = Math.round(totalRows / sinkSeconds);
    const directRowsPerSecond = Math.round(eventRows.length / directSeconds);
    console.log(
      JSON.stringify(
        {
          machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, stack: stack.mode, clickhouse: 'embedded chDB' },
          workload: { events: workload.length, customers: Number(values.customers), partitions: config.kafka.topicPartitions, blockBytesPerPartition: config.sink.maxBytesPerPartition },
          rows,
          sink: { rowsPerSecond: sinkRowsPerSecond, eventsPerSecond: Math.round(workload.length / sinkSeconds), secondsIncludingGroupJoin: +sinkSeconds.toFixed(1) },
          directInsertOfEventRows: { rowsPerSecond: directRowsPerSecond, blockRows: 10_000 },
          sinkToDirectRatio: +(sinkRowsPerSecond / directRowsPerSecond).toFixed(3),
        },
        null,
        2,
      ),
    );
  } finally {
    await stack.release();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
