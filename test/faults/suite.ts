/**
 * The fault suite, in the spirit of Jepsen's Kafka analyses and Materialize's Zippy: a seeded
 * workload with unique event ids sent through the collector by a retrying client, faults injected
 * on a schedule under it, and at the end the invariants checked:
 * - nothing acknowledged is lost or stored twice: every acknowledged event id is in ClickHouse once;
 * - the processor's outputs (stages, profiles, every daily and rolling KPI, customers at risk) equal
 *   those of an uninterrupted run of the same workload, and each stage transition is in ClickHouse once;
 * - the dead-letter topic holds nothing (the workload is valid);
 * - no service stopped on its own (the suite restarts only what it killed).
 * Per fault it measures how long it lasted, how long until the pipeline was counting again, and
 * until the backlog it left was drained.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { identityGroupName, processorGroupName, topicsFor } from '../../schemas/topics.ts';
import { loadConfig } from '../../services/common/config.ts';
import { createKafka, topicOffsets } from '../../services/common/kafka.ts';
import { sinkGroupOf } from '../../services/sink/sink.ts';
import { journeys } from '../helpers/journeys.ts';
import { processorOutputsOf } from '../helpers/processor-outputs.ts';
import { sqlRows } from '../helpers/sql.ts';
import { caughtUp, committedIn, endIn, processorCaughtUp, produceAll } from '../helpers/streams.ts';
import { RetryingClient, type ClientReport } from './client.ts';
import { FaultCluster } from './cluster.ts';
import { FAULTS, type FaultName, type FaultTimings } from './faults.ts';

export interface SuiteOptions extends FaultTimings {
  readonly faults: readonly FaultName[];
  /** Each fault this many times, in rounds. */
  readonly repeat: number;
  /** Quiet time before the first fault, between two, and after the last. */
  readonly gapS: number;
  readonly customers: number;
  readonly days: number;
  readonly seed: number;
  /** Events per second the client offers. */
  readonly rate: number;
  readonly logDir: string;
}

/** One sample of the pipeline: committed offsets per group, and what is not committed yet. */
interface Sample {
  readonly at: number;
  readonly processorCommitted: number;
  readonly sinkCommitted: number;
  readonly lag: number;
}

export interface FaultRun {
  readonly fault: FaultName;
  readonly outageS: number;
  /** From the fault's end until the processor and the sink had both committed more than at its end. */
  readonly countingAgainS: number | null;
  /** From the fault's end until the backlog was back to what it was before the fault. */
  readonly drainedS: number | null;
  /** The backlog's peak during the fault and its recovery (events). */
  readonly peakLag: number;
}

export interface SuiteReport {
  readonly events: number;
  readonly client: ClientReport;
  readonly runs: readonly FaultRun[];
  readonly lost: number;
  readonly duplicated: number;
  readonly deadLetters: number;
  readonly unexpectedExits: readonly string[];
  /** What differs from an uninterrupted run of the same workload (empty: nothing). */
  readonly differences: readonly string[];
  readonly durationS: number;
}

const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
/** Samples the pipeline every 500 ms; a sample Kafka cannot answer (it is down) is skipped. */
function sampler(kafka: Kafka, prefix: string, groups: { readonly sink: string }) {
  const topics = topicsFor(prefix);
  const samples: Sample[] = [];
  const control = { running: true };
  const loop = (async () => {
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    while (control.running) {
      try {
        const events = await endIn(admin, topics.events.name);
        const resolved = await endIn(admin, topics.resolvedEvents.name);
        const identity = await committedIn(admin, identityGroupName(prefix), topics.events.name);
        const processor = await committedIn(admin, processorGroupName(prefix), topics.resolvedEvents.name);
        const sink = await committedIn(admin, groups.sink, topics.events.name);
        samples.push({
          at: Date.now(),
          processorCommitted: processor,
          sinkCommitted: sink,
          lag: events - identity + Math.max(0, resolved - processor) + (events - sink),
        });
      } catch {
        // Kafka down or frozen: no sample.
      }
      await sleep(0.5);
    }
    await admin.disconnect().catch(() => undefined);
  })();
  return {
    samples,
    stop: async () => {
      control.running = false;
      await loop;
    },
  };
}

/** Recovery of one fault from the samples around it. */
function recoveryOf(fault: FaultName, start: number, end: number, samples: readonly Sample[]): FaultRun {
  const before = samples.filter((s) => s.at >= start - 10_000 && s.at < start);
  const baseline = Math.max(0, ...before.map((s) => s.lag));
  const atEnd = samples.findLast((s) => s.at <= end) ?? before.at(-1);
  const after = samples.filter((s) => s.at >= end);
  const counting = after.find(
    (s) => atEnd === undefined || (s.processorCommitted > atEnd.processorCommitted && s.sinkCommitted > atEnd.sinkCommitted),
  );
  const drained = after.find((s) => s.lag <= baseline);
  const seconds = (at: number | undefined) => (at === undefined ? null : Math.round((at - end) / 100) / 10);
  const during = samples.filter((s) => s.at >= start && (drained === undefined || s.at <= drained.at));
  return {
    fault,
    outageS: Math.round((end - start) / 100) / 10,
    countingAgainS: seconds(counting?.at),
    drainedS: seconds(drained?.at),
    peakLag: Math.max(0, ...during.map((s) => s.lag)),
  };
}

/** The processor's outputs of the same workload, produced straight to Kafka and counted without a fault. */
async function uninterruptedOutputs(cluster: FaultCluster, workload: readonly Record<string, unknown>[]) {
  const prefix = `${cluster.config.topicPrefix}reference.`;
  const reference = loadConfig({
    ...process.env,
    KAFKA_BROKERS: cluster.config.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: cluster.config.registry.url,
    TOPIC_PREFIX: prefix,
  });
  await produceAll(reference, workload);
  const processor = cluster.journey(['run', 'processor'], 'reference', { TOPIC_PREFIX: prefix });
  const stopped = new Promise((resolve) => processor.once('exit', resolve));
  const kafka = createKafka(reference.kafka, undefined);
  try {
    await processorCaughtUp(kafka, prefix, 600_000);
  } finally {
    // Stopped before its outputs are read, as the faulted run's: what it held back is published on the way out.
    processor.kill('SIGTERM');
    await stopped;
  }
  return processorOutputsOf(kafka, reference);
}

/** A value as text with every object's keys sorted (records parsed first): equal values, equal text. */
function canonical(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (typeof v === 'string' && (v.startsWith('{') || v.startsWith('['))) {
      try {
        return sorted(JSON.parse(v));
      } catch {
        return v;
      }
    }
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, sorted(x)]),
      );
    return v;
  };
  return JSON.stringify(sorted(value));
}

type Outputs = Awaited<ReturnType<typeof processorOutputsOf>>;

/**
 * The outputs without the KPI records of days after the workload's last event day: those carry
 * only rolling counts projected into the future, and which of them a partition publishes depends on
 * how its events were batched (a live run and a bulk run differ with no fault at all), not on faults.
 */
function withoutFutureDays(outputs: Outputs, lastEventDay: string): Outputs {
  return { ...outputs, kpis: outputs.kpis.filter(([key]) => (key.split('|')[1] ?? '') <= lastEventDay) };
}

/** Where two runs' outputs differ, by output (at most a few records of each). */
function differencesOf(after: Outputs, expected: Outputs): string[] {
  const differences: string[] = [];
  for (const output of ['transitions', 'profiles', 'kpis', 'atRisk'] as const) {
    const [got, want] = [after[output].map(canonical), expected[output].map(canonical)];
    const wanted = new Set(want);
    const gotten = new Set(got);
    const missing = want.filter((x) => !gotten.has(x));
    const extra = got.filter((x) => !wanted.has(x));
    if (missing.length > 0 || extra.length > 0 || got.length !== want.length)
      differences.push(
        `${output}: ${got.length} against ${want.length}; missing ${missing.slice(0, 3).join(' ')}; extra ${extra.slice(0, 3).join(' ')}`,
      );
  }
  return differences;
}

export async function runFaultSuite(options: SuiteOptions, progress: (line: string) => void = () => undefined): Promise<SuiteReport> {
  const began = Date.now();
  const workload = journeys({
    customers: options.customers,
    start: '2026-11-01T00:00:00Z',
    days: options.days,
    seed: options.seed,
    resend: false,
  });
  const cluster = await FaultCluster.start(options.logDir);
  try {
    const prefix = cluster.config.topicPrefix;
    const kafka = createKafka(cluster.config.kafka, undefined);
    const sampling = sampler(kafka, prefix, { sink: sinkGroupOf(cluster.config) });
    const client = new RetryingClient(() => cluster.collectorUrl, { perRequest: 50, ratePerS: options.rate });
    const sending = client.send(workload);
    progress(`${workload.length} events at ${options.rate}/s through the collector`);

    const timings: { fault: FaultName; start: number; end: number }[] = [];
    await sleep(options.gapS);
    for (let round = 0; round < options.repeat; round++) {
      for (const fault of options.faults) {
        const start = Date.now();
        cluster.note(`fault ${fault}: begins`);
        await FAULTS[fault].inject(cluster, options);
        const end = Date.now();
        cluster.note(`fault ${fault}: over after ${String(end - start)} ms`);
        progress(`${fault} over after ${((end - start) / 1000).toFixed(1)} s; ${String(client.sent)} of ${String(workload.length)} sent`);
        timings.push({ fault, start, end });
        await sleep(options.gapS);
      }
    }
    const clientReport = await sending;
    progress(`all ${String(clientReport.acknowledged)} events acknowledged; waiting for the pipeline to drain`);
    await processorCaughtUp(kafka, prefix, 600_000);
    await caughtUp(kafka, sinkGroupOf(cluster.config), [topicsFor(prefix).events.name], 600_000);
    await sampling.stop();
    writeFileSync(path.join(options.logDir, 'samples.jsonl'), sampling.samples.map((sample) => JSON.stringify(sample)).join('\n'));
    await cluster.endService('processor', 'SIGTERM');
    // What the processor published on its way out reaches ClickHouse too.
    await caughtUp(kafka, sinkGroupOf(cluster.config), [topicsFor(prefix).stageTransitions.name], 120_000);

    // A row per Kafka record: one stored twice is the sink's double insert (an event a client sent
    // twice is two records, folded by ReplacingMergeTree, and counted once by the processor).
    const [stored] = await sqlRows<{ ids: string; rows: string; records: string }>(
      cluster.queryUrl,
      'SELECT uniqExact(event_id) AS ids, count() AS rows, uniqExact(kafka_partition, kafka_offset) AS records FROM journey.events',
    );
    const ids = Number(stored?.ids ?? 0);
    const deadLetters = (await topicOffsets(kafka, topicsFor(prefix).deadLetter.name)).reduce((sum, p) => sum + Number(p.high), 0);
    const after = await processorOutputsOf(kafka, cluster.config);
    const [transitionRows] = await sqlRows<{ rows: string }>(cluster.queryUrl, 'SELECT count() AS rows FROM journey.stage_transitions');
    progress('counted; running the same workload without faults');
    const expected = await uninterruptedOutputs(cluster, workload);
    const lastEventDay = workload
      .reduce((last, event) => (String(event.occurred_at) > last ? String(event.occurred_at) : last), '')
      .slice(0, 10);
    const differences = differencesOf(withoutFutureDays(after, lastEventDay), withoutFutureDays(expected, lastEventDay));
    if (Number(transitionRows?.rows ?? 0) !== after.transitions.length)
      differences.push(
        `stage_transitions in ClickHouse: ${String(transitionRows?.rows)} rows for ${String(after.transitions.length)} transitions`,
      );
    return {
      events: workload.length,
      client: clientReport,
      runs: timings.map(({ fault, start, end }) => recoveryOf(fault, start, end, sampling.samples)),
      lost: clientReport.acknowledged - ids,
      duplicated: Number(stored?.rows ?? 0) - Number(stored?.records ?? 0),
      deadLetters,
      unexpectedExits: [...cluster.unexpectedExits],
      differences,
      durationS: Math.round((Date.now() - began) / 1000),
    };
  } finally {
    await cluster.stop();
  }
}
