/**
 * Collector throughput: `npm run bench:collector [-- --requests 2000 --batch 100 --concurrency 16]`.
 *
 * Posts batches of valid events over keep-alive HTTP to an in-process collector on the stack that
 * `npm start` would use, and in the same run produces the same number of pre-encoded messages
 * straight through kafkajs. The ratio of the two is the figure that travels between machines; the
 * absolute events/s depend on this one (printed alongside). Load generator, collector, Kafka and
 * the registry share the machine's cores, so this is a floor, not a ceiling.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../services/common/config.ts';
import { createIdempotentProducer, createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runCollector } from '../../services/collector/run.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import { partitionKeyOf, toAvro } from '../../schemas/event-contract.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { acquireStack } from '../../infra/stack/acquire.ts';
import { endpointsAsEnv } from '../../infra/stack/endpoints.ts';
import { percentile } from './harness.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '16' },
  },
});
const requests = Number(values.requests);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);

const PAGE_TYPES = ['home', 'product', 'pricing', 'blog', 'checkout'] as const;
function syntheticEvent(i: number): Record<string, unknown> {
  const customer = `c-${i % 10_000}`;
  if (i % 20 === 0) {
    return {
      event_id: randomUUID(),
      type: 'purchase',
      occurred_at: new Date().toISOString(),
      customer_id: customer,
      segment: 'smb',
      properties: { order_id: `o-${i}`, amount: '49.90', currency: 'EUR', items: 1 },
    };
  }
  return {
    event_id: randomUUID(),
    type: 'page_view',
    occurred_at: new Date().toISOString(),
    customer_id: customer,
    session_id: `s-${Math.floor(i / 7)}`,
    segment: 'smb',
    channel: 'web',
    properties: {
      url: `https://shop.example/p/${i % 500}`,
      page_type: PAGE_TYPES[i % PAGE_TYPES.length],
      duration_ms: 1000 + (i % 9000),
      cta_shown: i % 3 === 0,
      cta_clicked: i % 9 === 0,
    },
  };
}

/** Runs `work` over `items` with at most `concurrency` in flight, like a pool of keep-alive clients. */
async function eachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

async function main(): Promise<void> {
  const stack = await acquireStack(loadConfig(), process.env, (line) => {
    console.error(`[stack] ${line}`);
  });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const prefix = `bench.${randomBytes(4).toString('hex')}.`;
  const config = loadConfig({
    ...process.env,
    ...endpointsAsEnv(stack.endpoints),
    TOPIC_PREFIX: prefix,
    COLLECTOR_API_KEYS: apiKey,
    COLLECTOR_PORT: '0',
    COLLECTOR_MAX_EVENTS: String(batchSize),
  });
  const collector = await runCollector(config, createLogger('warn'));
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  try {
    const bodies = Array.from({ length: requests }, (_, r) =>
      JSON.stringify(Array.from({ length: batchSize }, (_, i) => syntheticEvent(r * batchSize + i))),
    );
    const post = async (body: string) => {
      const began = performance.now();
      const response = await fetch(`${collector.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body,
      });
      const reply = (await response.json()) as { accepted?: number };
      if (response.status !== 202 || reply.accepted !== batchSize)
        throw new Error(`unexpected reply ${response.status}: ${JSON.stringify(reply).slice(0, 300)}`);
      return performance.now() - began;
    };
    for (const body of bodies.slice(0, Math.min(50, requests))) await post(body); // warm-up: JIT, connections, metadata

    const latencies: number[] = [];
    const began = performance.now();
    await eachConcurrently(bodies, concurrency, async (body) => {
      latencies.push(await post(body));
    });
    const collectorSeconds = (performance.now() - began) / 1000;
    const rssAfterCollector = process.memoryUsage().rss;

    // The same events, validated and encoded up front, produced raw through kafkajs in the same batches.
    const kafka = createKafka(config.kafka, undefined);
    const registry = createRegistry(config.registry);
    const schemaId = await registerEventSchema(registry, topicsFor(prefix));
    const rawBatches = await Promise.all(
      bodies.map(async (body) => {
        const { events } = validateBatch(JSON.parse(body) as unknown[], {
          now: Date.now(),
          maxFutureSkewMs: 300_000,
          maxPastMs: 365 * 86_400_000,
        });
        return Promise.all(events.map(async (e) => ({ key: partitionKeyOf(e), value: await registry.encode(schemaId, toAvro(e)) })));
      }),
    );
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const rawTopic = topicsFor(prefix).deadLetter.name; // an existing topic of the run, same partitions
    const rawBegan = performance.now();
    await eachConcurrently(rawBatches, concurrency, async (messages) => {
      await producer.send({ topic: rawTopic, messages, acks: -1 });
    });
    const rawSeconds = (performance.now() - rawBegan) / 1000;
    await producer.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topicsFor(prefix).events.name);
    await admin.disconnect();
    const landed = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);

    const events = requests * batchSize;
    const sorted = latencies.sort((a, b) => a - b);
    const result = {
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        stack: stack.mode,
      },
      run: { requests, batchSize, concurrency, events, eventsInKafka: landed },
      collector: {
        eventsPerSecond: Math.round(events / collectorSeconds),
        requestLatencyMs: {
          p50: +(percentile(sorted, 50) ?? 0).toFixed(1),
          p95: +(percentile(sorted, 95) ?? 0).toFixed(1),
          p99: +(percentile(sorted, 99) ?? 0).toFixed(1),
        },
      },
      rawKafkajsProduce: { eventsPerSecond: Math.round(events / rawSeconds) },
      collectorToRawRatio: +(events / collectorSeconds / (events / rawSeconds)).toFixed(2),
      rssMiB: { afterCollectorRun: Math.round(rssAfterCollector / 2 ** 20), peak: Math.round(peakRss / 2 ** 20) },
    };
    console.log(JSON.stringify(result, null, 2));
    if (landed < events) throw new Error(`only ${landed} of ${events} events are in Kafka`);
  } finally {
    clearInterval(sampler);
    await collector.close();
    await stack.release();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
