/**
 * The whole pipeline, end to end: `npm run bench [-- --customers 20000 --step-s 15 --hold-s 30]`.
 *
 * `journey run collector`, `processor` and `sink` as three processes on the stack `npm start`
 * would use (sink on its own embedded ClickHouse), fed over HTTP with the generator's live
 * journeys. It ramps the offered rate (doubling per step) until the pipeline falls behind — the
 * processor's or the sink's backlog grows through a step — then holds the last rate it kept up
 * with, and reports:
 * - events/s sustained end to end (accepted at the collector, and counted by the processor);
 * - latency from acceptance at the collector (the Kafka record's timestamp) to counted by the
 *   processor and to its row being queryable in ClickHouse (the sink commits a block's offsets
 *   after ClickHouse acknowledged it), p50/p95/p99, read every 100 ms: each figure up to ~100 ms high;
 * - each service's CPU (share of one core) and peak RSS over the hold;
 * - in the same run, the ceilings it is measured against: the processor's rules alone, in memory;
 *   raw kafkajs produce and consume; the cost of one ClickHouse insert and rows/s in large blocks
 *   (stack-ceilings.ts), each measured after the services stopped.
 * The load generator runs in this process, on the same two cores: the figures are floors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import avro from 'avsc';
import { JOURNEY_EVENT_AVSC } from '../../schemas/event-contract.ts';
import { identityGroupName, IDENTITY_HEADERS, processorGroupName, topicsFor } from '../../schemas/topics.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { traffic } from '../../services/generator/traffic.ts';
import { freePort } from '../helpers/net.ts';
import { TEST_QUERY_TOKEN } from '../helpers/sql.ts';
import { committedIn, endIn } from '../helpers/streams.ts';
import { percentile, runBench } from './harness.ts';
import { rulesCeiling } from './rules-ceiling.ts';
import { clickHouseCeiling, kafkaCeiling, sampleRecords } from './stack-ceilings.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '20000' },
    'start-rate': { type: 'string', default: '500' },
    'max-rate': { type: 'string', default: '64000' },
    'step-s': { type: 'string', default: '15' },
    'hold-s': { type: 'string', default: '30' },
  },
});
const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');
const API_KEY = 'bench-collector-key-0123456789';
const SERVICES = ['sink', 'processor', 'collector'] as const;
type Service = (typeof SERVICES)[number];
const CLOCK_TICKS_PER_S = 100;

/** CPU seconds and resident memory of a process, from /proc (Linux). */
function usageOf(pid: number): { cpuS: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuS: ticks / CLOCK_TICKS_PER_S, rssBytes: rssKiB * 1024 };
}

/** Events on the events topic (`ends`) and how many of them the processor and the sink had not committed, sampled at `at` (s). */
interface Backlog {
  readonly at: number;
  readonly ends: number;
  readonly processor: number;
  readonly sink: number;
}

/**
 * How fast the backlogs grew once the pipeline had filled (events/s): the mean of the last third of
 * `samples` against the middle third's. A pipeline that keeps up carries a steady backlog (its
 * rate × its latency), which the first third fills; averages, because the backlog saws with every
 * batch.
 */
function backlogGrowth(samples: readonly Backlog[]): { processor: number; sink: number } {
  const third = Math.floor(samples.length / 3);
  if (third === 0) return { processor: 0, sink: 0 };
  const mean = (list: readonly Backlog[], of: (b: Backlog) => number) => list.reduce((sum, b) => sum + of(b), 0) / list.length;
  const [middle, last] = [samples.slice(third, 2 * third), samples.slice(-third)];
  const seconds = mean(last, (b) => b.at) - mean(middle, (b) => b.at);
  const growth = (of: (b: Backlog) => number) => Math.round((mean(last, of) - mean(middle, of)) / seconds);
  return { processor: growth((b) => b.processor), sink: growth((b) => b.sink) };
}

runBench(async ({ config, prefix, stackEnv }) => {
  const [collectorPort, queryPort] = [await freePort(), await freePort()];
  const collectorUrl = `http://127.0.0.1:${collectorPort}`;
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  const env = {
    ...process.env,
    ...stackEnv,
    TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    COLLECTOR_API_KEYS: API_KEY,
    COLLECTOR_PORT: String(collectorPort),
    QUERY_PORT: String(queryPort),
    QUERY_API_KEYS: TEST_QUERY_TOKEN,
    CLICKHOUSE_URL: '',
    CHDB_PATH: mkdtempSync(path.join(tmpdir(), 'journeyline-bench-')),
  };
  const children = new Map<Service, ChildProcess>();
  const errors: string[] = [];
  for (const service of SERVICES) {
    const child = spawn(process.execPath, [JOURNEY, 'run', service], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (chunk: Buffer) => errors.push(`${service}: ${chunk.toString()}`.slice(0, 2000)));
    children.set(service, child);
  }
  const died = () => {
    const dead = [...children].find(([, child]) => child.exitCode !== null || child.signalCode !== null);
    return dead === undefined ? undefined : `${dead[0]} exited: ${errors.slice(-5).join('')}`;
  };
  const answers = (url: string) =>
    fetch(url).then(
      (r) => (r.ok ? true : undefined),
      () => undefined,
    );
  try {
    await pollUntil(() => answers(`${collectorUrl}/readyz`), { timeoutMs: 120_000, what: 'the collector', giveUpIf: died });
    await pollUntil(() => answers(`${queryUrl}/ping`), { timeoutMs: 120_000, what: 'the sink', giveUpIf: died });

    const kafka = createKafka(config.kafka, undefined);
    const admin = kafka.admin();
    await admin.connect();
    const eventsTopic = topicsFor(prefix).events.name;
    const resolvedTopic = topicsFor(prefix).resolvedEvents.name;
    /** Events on the topic, and how many of them the processor and the sink have not committed yet. */
    const backlog = async (): Promise<Omit<Backlog, 'at'>> => {
      /** What `groupId` has not committed of `topic`, whose end is `end`. */
      const behind = async (groupId: string, topic: string, end: number) => end - (await committedIn(admin, groupId, topic));
      const ends = await endIn(admin, eventsTopic);
      return {
        ends,
        // What the identity step has not resolved, and the journey step not counted.
        processor:
          (await behind(identityGroupName(prefix), eventsTopic, ends)) +
          Math.max(0, await behind(processorGroupName(prefix), resolvedTopic, await endIn(admin, resolvedTopic))),
        sink: await behind(`${prefix}sink`, eventsTopic, ends),
      };
    };

    // When each event was accepted (on the events topic its Kafka timestamp, the collector's produce
    // time; on resolved-events, where the identity step forwarded it later, its received_at) and when
    // the processor's journey step and the sink had committed past it: counted, and queryable in
    // ClickHouse (the sink commits a block's offsets only after ClickHouse acknowledged its insert).
    const topicOf = { processed: resolvedTopic, queryable: eventsTopic } as const;
    const groups = { processed: processorGroupName(prefix), queryable: `${prefix}sink` } as const;
    /** Per kind and partition, the offsets of events seen (ascending; resolved-events has gaps: transaction markers, identity commands) and when each was accepted. */
    const seen = {
      processed: new Map<number, { offsets: number[]; times: number[] }>(),
      queryable: new Map<number, { offsets: number[]; times: number[] }>(),
    };
    // An event's received_at alone, skipping the rest (Confluent framing: 5 bytes, then Avro).
    const whole = avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema);
    const received = avro.Type.forSchema({
      ...JOURNEY_EVENT_AVSC,
      fields: (JOURNEY_EVENT_AVSC.fields as { name: string }[]).filter((f) => f.name === 'received_at'),
    } as avro.Schema);
    const toReceived = received.createResolver(whole);
    const receivedAt = (value: Buffer | null) =>
      value === null ? Number.NaN : (received.fromBuffer(value.subarray(5), toReceived) as { received_at: number }).received_at;
    const watcher = kafka.consumer({ groupId: `${prefix}bench-watch`, maxWaitTimeInMs: 100 });
    await watcher.connect();
    await watcher.subscribe({ topics: [eventsTopic, resolvedTopic], fromBeginning: true });
    await watcher.run({
      eachBatch: ({ batch }) => {
        const kind = batch.topic === resolvedTopic ? 'processed' : 'queryable';
        const into = seen[kind].get(batch.partition) ?? { offsets: [], times: [] };
        for (const message of batch.messages) {
          if (message.headers?.[IDENTITY_HEADERS.command] !== undefined) continue;
          into.offsets.push(Number(message.offset));
          into.times.push(kind === 'processed' ? receivedAt(message.value) : Number(message.timestamp));
        }
        seen[kind].set(batch.partition, into);
        return Promise.resolve();
      },
    });
    const measuredUpTo = { processed: new Map<number, number>(), queryable: new Map<number, number>() };
    let latencies = { processed: [] as number[], queryable: [] as number[] };
    const watching = new AbortController();
    const watch = (async () => {
      while (!watching.signal.aborted) {
        for (const kind of ['processed', 'queryable'] as const) {
          const [committed] = await admin.fetchOffsets({ groupId: groups[kind], topics: [topicOf[kind]] }).catch(() => []);
          const now = Date.now();
          for (const { partition, offset } of committed?.partitions ?? []) {
            const events = seen[kind].get(partition);
            let next = measuredUpTo[kind].get(partition) ?? 0;
            // Only events the watcher has seen: its own lag must not count as the pipeline's.
            while (events !== undefined && next < events.offsets.length && (events.offsets[next] ?? 0) < Number(offset)) {
              latencies[kind].push(now - (events.times[next] ?? now));
              next++;
            }
            measuredUpTo[kind].set(partition, next);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const journeys = traffic({ seed: 11, customers: Number(values.customers), segments: ['smb', 'enterprise', 'فروشگاه-تهران'] });
    /** Offers `rate` events/s for `seconds` in 100 ms ticks of batches of up to 500; what the collector accepted. */
    const offer = async (rate: number, seconds: number) => {
      let accepted = 0;
      let sent = 0;
      const began = performance.now();
      const inFlight = new Set<Promise<void>>();
      for (let tick = 0; tick < seconds * 10; tick++) {
        const due = began + tick * 100;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        // A collector that cannot keep up is not sent more than 32 requests ahead.
        while (inFlight.size >= 32) await Promise.race(inFlight);
        const events = journeys.live(Math.max(1, Math.round(rate / 10)), Date.now());
        for (let i = 0; i < events.length; i += 500) {
          const batch = events.slice(i, i + 500);
          sent += batch.length;
          const request = fetch(`${collectorUrl}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify(batch),
          })
            .then(async (response) => {
              if (response.status === 202 || response.status === 422)
                accepted += ((await response.json()) as { accepted: number }).accepted;
              else await response.body?.cancel();
            })
            .catch(() => undefined)
            .finally(() => inFlight.delete(request));
          inFlight.add(request);
        }
      }
      await Promise.all(inFlight);
      const elapsed = (performance.now() - began) / 1000;
      return { offered: Math.round(sent / elapsed), accepted: Math.round(accepted / elapsed), acceptedTotal: accepted };
    };

    /** The backlog every second while `running` runs, and what it returned. */
    const sampledWhile = async <T>(running: Promise<T>): Promise<[T, Backlog[]]> => {
      const samples: Backlog[] = [];
      const finished = new AbortController();
      const sampling = (async () => {
        while (!finished.signal.aborted) {
          const began = performance.now();
          samples.push({ at: began / 1000, ...(await backlog()) });
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (performance.now() - began))));
        }
      })();
      const result = await running.finally(() => {
        finished.abort();
      });
      await sampling;
      return [result, samples];
    };

    const drained = (below: number) =>
      pollUntil(
        async () => {
          const now = await backlog();
          return now.processor < below && now.sink < below ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 500, what: 'the pipeline to drain' },
      );

    // Ramp: double the rate while the pipeline keeps up through each step; when it cannot keep up
    // with the first, halve it until it does (down to 60 events/s), so a sustained rate is found.
    const stepS = Number(values['step-s']);
    const steps: Record<string, unknown>[] = [];
    let sustained = 0;
    for (let rate = Number(values['start-rate']); rate <= Number(values['max-rate']);) {
      latencies = { processed: [], queryable: [] };
      const [offered, samples] = await sampledWhile(offer(rate, stepS));
      const after = samples.at(-1);
      const growth = backlogGrowth(samples);
      const p99 = percentile(
        [...latencies.queryable].sort((a, b) => a - b),
        99,
      );
      // Keeping up: the collector took what was offered, and once the pipeline had filled neither
      // the processor's nor the sink's backlog grew by more than a tenth of the offered rate
      // (latency, hence the backlog a pipeline that keeps up carries, is reported, not judged).
      const keptUp = offered.accepted >= rate * 0.9 && growth.processor <= rate * 0.1 && growth.sink <= rate * 0.1;
      steps.push({
        rate,
        ...offered,
        processorBacklogAfter: after?.processor,
        sinkBacklogAfter: after?.sink,
        backlogGrowthPerS: growth,
        queryableP99Ms: p99,
        keptUp,
      });
      console.error(`[bench] ${JSON.stringify(steps.at(-1))}`);
      // Let the pipeline drain before the next step.
      await drained(Math.max(rate, 60));
      if (keptUp) {
        sustained = rate;
        rate *= 2;
      } else if (sustained === 0 && rate / 2 >= 60) rate = Math.round(rate / 2);
      else break;
    }
    await drained(1);

    // Hold the sustained rate and measure it.
    const holdS = Number(values['hold-s']);
    const usageBefore = new Map([...children].map(([service, child]) => [service, usageOf(child.pid ?? 0)]));
    const peakRss = new Map<Service, number>();
    const sampler = setInterval(() => {
      for (const [service, child] of children) peakRss.set(service, Math.max(peakRss.get(service) ?? 0, usageOf(child.pid ?? 0).rssBytes));
    }, 1000);
    latencies = { processed: [], queryable: [] };
    const holdBegan = performance.now();
    const [held, heldSamples] = await sampledWhile(offer(sustained > 0 ? sustained : 60, holdS));
    const holdSeconds = (performance.now() - holdBegan) / 1000;
    clearInterval(sampler);
    // The events of the hold still on their way count too.
    await pollUntil(() => Promise.resolve(latencies.queryable.length >= held.acceptedTotal ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: "the hold's events to become queryable",
    }).catch(() => undefined);
    const spread = (list: readonly number[]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), events: sorted.length };
    };
    const services = Object.fromEntries(
      [...children].map(([service, child]) => {
        const now = usageOf(child.pid ?? 0);
        const was = usageBefore.get(service) ?? now;
        return [
          service,
          { cpuCores: +((now.cpuS - was.cpuS) / holdSeconds).toFixed(2), peakRssMiB: Math.round((peakRss.get(service) ?? 0) / 2 ** 20) },
        ];
      }),
    );
    watching.abort();
    await watch;
    await watcher.disconnect();
    await admin.disconnect();

    const [heldFrom, heldTo] = [heldSamples[0], heldSamples.at(-1)];
    const sampledS = heldFrom === undefined || heldTo === undefined ? 0 : heldTo.at - heldFrom.at;
    const perS = (through: (b: Backlog) => number) =>
      heldFrom === undefined || heldTo === undefined || sampledS === 0 ? 0 : Math.round((through(heldTo) - through(heldFrom)) / sampledS);
    const processedPerS = perS((b) => b.ends - b.processor);
    // The ceilings on quiet cores: the services stop first.
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else {
              child.once('exit', () => {
                resolve();
              });
              child.kill('SIGTERM');
            }
          }),
      ),
    );
    const ceiling = await rulesCeiling({ customers: 20_000, steps: 4, batchSize: 2000 });
    const { events, shares } = sampleRecords(config, 20_000);
    const kafkaAlone = await kafkaCeiling(kafka, config, events);
    const clickhouseAlone = await clickHouseCeiling(config, events, shares);
    return {
      ramp: steps,
      // The rate the ramp kept up with (null: not even its first step), and the hold at it.
      keptUpAt: sustained === 0 ? null : sustained,
      sustained: {
        offeredEventsPerSecond: held.offered,
        acceptedEventsPerSecond: held.accepted,
        processedEventsPerSecond: processedPerS,
        queryableEventsPerSecond: perS((b) => b.ends - b.sink),
        backlogGrowthPerS: backlogGrowth(heldSamples),
        // From acceptance at the collector to counted by the processor, and to queryable in ClickHouse.
        processedLatencyMs: spread(latencies.processed),
        queryableLatencyMs: spread(latencies.queryable),
        services,
      },
      ceilings: {
        rulesInMemoryEventsPerSecond: ceiling.eventsPerSecond,
        stateBytesPerCustomer: ceiling.liveHeap.bytesPerCustomer,
        kafka: kafkaAlone,
        clickhouse: clickhouseAlone,
      },
      processedToRules: +(processedPerS / ceiling.eventsPerSecond).toFixed(2),
    };
  } finally {
    for (const child of children.values()) child.kill('SIGTERM');
  }
});
