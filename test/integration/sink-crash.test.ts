/**
 * The sink, SIGKILLed between a ClickHouse insert and its offset commit, and restarted: the
 * replayed block is dropped by ClickHouse (same offset range, same deduplication token), so
 * `events` holds each event once and every table equals that of a sink that never crashed.
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../services/common/config.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runProcessor } from '../../services/processor/processor.ts';
import { parseIntent, type BlockRange } from '../../services/sink/blocks.ts';
import { sinkGroupOf, sinkTopicsOf } from '../../services/sink/sink.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { journeys } from '../helpers/journeys.ts';
import { caughtUp, processorCaughtUp, exited, produceAll, startSink, stopJourney } from '../helpers/pipeline.ts';
import { sqlRows } from '../helpers/sql.ts';

/** Events in, processor run to the end: the sink's four input topics, complete. */
async function processedWorkload(config: Config, workload: readonly unknown[]): Promise<void> {
  await produceAll(config, workload);
  const kafka = createKafka(config.kafka, undefined);
  const processor = await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') });
  try {
    await processorCaughtUp(kafka, config.topicPrefix);
  } finally {
    await processor.stop();
  }
}

const sinkTopics = (config: Config) => sinkTopicsOf(topicsFor(config.topicPrefix));

/** The sink blocks whose intent is committed but whose end is not: what a restart must replay. */
async function pendingIntents(kafka: Kafka, config: Config): Promise<BlockRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: sinkGroupOf(config), topics: sinkTopics(config) });
    return committed.flatMap((t) => t.partitions.flatMap((p) => parseIntent(p.metadata) ?? []));
  } finally {
    await admin.disconnect();
  }
}

/** What an analyst would compare: everything but Kafka lineage and receipt/record times (the two runs produced separately). */
async function tablesOf(url: string) {
  const q = (sql: string) => sqlRows(url, sql);
  return {
    events: await q('SELECT * EXCEPT (kafka_partition, kafka_offset, received_at) FROM journey.events ORDER BY event_id'),
    stages: await q('SELECT * EXCEPT (updated_at, kafka_partition, kafka_offset) FROM journey.customer_stages FINAL ORDER BY customer_id'),
    profiles: await q(
      'SELECT * EXCEPT (updated_at, kafka_partition, kafka_offset) FROM journey.customer_profiles FINAL ORDER BY customer_id',
    ),
    transitions: await q(
      'SELECT * EXCEPT (kafka_partition, kafka_offset) FROM journey.stage_transitions ORDER BY customer_id, at, to_stage',
    ),
    kpis: await q('SELECT * EXCEPT (updated_at) FROM journey.segment_kpis_daily ORDER BY segment, day'),
    atRisk: await q('SELECT * EXCEPT (kafka_partition, kafka_offset) FROM journey.customers_at_risk ORDER BY customer_id, at, event_id'),
  };
}

describe('sink crash', () => {
  const logFile = path.resolve(import.meta.dirname, '../../.journeyline/test-logs/sink-crash.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, '');
  const log = {
    push: (line: string) => {
      appendFileSync(logFile, line);
    },
  };
  const workload = journeys({ customers: 120, start: '2026-11-01T00:00:00Z', days: 5, seed: 11, resend: false });

  // What a sink that never crashed writes, computed once for both cases.
  let uninterruptedTables: ReturnType<typeof tablesOf> | undefined;
  const expectedTables = () =>
    (uninterruptedTables ??= (async () => {
      const reference = testConfig({ TOPIC_PREFIX: `${uniqueName('sinkref')}.`, KAFKA_TOPIC_PARTITIONS: '3' });
      await processedWorkload(reference, workload);
      const uninterrupted = await startSink(reference, mkdtempSync(path.join(tmpdir(), 'journeyline-sinkref-')), log);
      await caughtUp(createKafka(reference.kafka, undefined), sinkGroupOf(reference), sinkTopics(reference));
      const tables = await tablesOf(await uninterrupted.url());
      await stopJourney(uninterrupted.child);
      return tables;
    })());

  // Restarted with larger fetches, as after new data or a retune: a fetch now returns a range other
  // than the one in flight, so only the recorded intent can rebuild the same block. (Smaller fetches
  // rarely split a block: Kafka returns whole record batches, and the processor writes big ones.)
  it.each([{ fetches: 'larger', victimBytes: '2048', restartBytes: '65536' }])(
    'SIGKILLed between insert and offset commit, restarted with $fetches fetches: no duplicate rows, the same tables as an uninterrupted sink',
    async ({ victimBytes, restartBytes }) => {
      const crashed = testConfig({ TOPIC_PREFIX: `${uniqueName('sinkcrash')}.`, KAFKA_TOPIC_PARTITIONS: '3' });
      const [expected] = await Promise.all([expectedTables(), processedWorkload(crashed, workload)]);
      const kafka = createKafka(crashed.kafka, undefined);

      const chdbPath = mkdtempSync(path.join(tmpdir(), 'journeyline-sinkcrash-'));
      // Killed in a block of stage transitions: their table is a plain MergeTree, where a block
      // inserted twice stays twice (a ReplacingMergeTree's merges could hide it by the time of the count).
      const victim = await startSink(
        crashed,
        chdbPath,
        log,
        { SINK_BATCH_MAX_BYTES: victimBytes },
        { topic: topicsFor(crashed.topicPrefix).stageTransitions.name, afterBlocks: 3 },
      );
      await exited(victim.child);
      // Only the fault injection SIGKILLs the sink, and only after an insert, before its commit.
      expect(victim.child.signalCode).toBe('SIGKILL');
      expect((await pendingIntents(kafka, crashed)).length).toBeGreaterThan(0);

      const restarted = await startSink(crashed, chdbPath, log, { SINK_BATCH_MAX_BYTES: restartBytes });
      await caughtUp(kafka, sinkGroupOf(crashed), sinkTopics(crashed));
      // The block in flight at the kill was rebuilt from its recorded range and committed past.
      expect(await pendingIntents(kafka, crashed)).toEqual([]);

      const url = await restarted.url();
      const [counts] = await sqlRows<{ rows: string; distinct_ids: string }>(
        url,
        'SELECT count() AS rows, uniqExact(event_id) AS distinct_ids FROM journey.events',
      );
      expect(counts).toEqual({ rows: String(workload.length), distinct_ids: String(workload.length) });
      // No table holds a Kafka record twice, FINAL or not.
      for (const table of [
        'events',
        'stage_transitions',
        'customer_profiles',
        'customer_stages',
        'segment_kpi_partials',
        'customers_at_risk',
      ]) {
        const [lineage] = await sqlRows<{ rows: string; records: string }>(
          url,
          `SELECT count() AS rows, uniqExact(kafka_partition, kafka_offset) AS records FROM journey.${table}`,
        );
        expect(lineage?.rows, table).toBe(lineage?.records);
      }
      const after = await tablesOf(url);
      await stopJourney(restarted.child);
      expect(after.events).toEqual(expected.events);
      expect(after.transitions).toEqual(expected.transitions);
      expect(after.stages).toEqual(expected.stages);
      expect(after.profiles).toEqual(expected.profiles);
      expect(after.kpis.length).toBeGreaterThan(5);
      expect(after.kpis).toEqual(expected.kpis);
      expect(after.atRisk.length).toBeGreaterThan(0);
      expect(after.atRisk).toEqual(expected.atRisk);
    },
    240_000,
  );
});
