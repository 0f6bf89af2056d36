/**
 * Processor throughput and memory: `npm run bench:processor [-- --customers 100000 --steps 4]`.
 *
 * Loads a synthetic journey workload into a fresh events topic, then in one run measures (1) the
 * raw kafkajs consume rate of that topic (eachBatch, no work) and (2) the processor draining it
 * with exactly-once transactions, state and outputs. The ratio is the figure that carries across
 * machines. RSS is sampled in this process, after the raw pass, so the processor's share per
 * 100k customers can be read off; the live heap after a full GC gives the state's own size.
 * Kafka and the registry share the machine's cores. `--broker-delay-ms N` delays every response
 * the processor receives from Kafka by N ms, as a broker across a network would (the loopback
 * here has none): what a processor's round trips cost where Kafka runs on machines of its own.
 * `--threads N` runs the processor as PROCESSOR_THREADS=N would (threads.ts); its state then lives
 * in the threads' heaps, so the live heap figure is left out.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { ISocketFactory } from 'kafkajs';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runProcessor } from '../../services/processor/processor.ts';
import { runProcessorThreads } from '../../services/processor/threads.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { journeys } from '../helpers/journeys.ts';
import { processorCaughtUp, produceAll } from '../helpers/streams.ts';
import { runBench } from './harness.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    steps: { type: 'string', default: '4' },
    'broker-delay-ms': { type: 'string', default: '0' },
    threads: { type: 'string', default: '1' },
  },
});
const brokerDelayMs = Number(values['broker-delay-ms']);
const threads = Number(values.threads);
// The delayed sockets are this thread's; worker threads make their own clients.
if (brokerDelayMs > 0 && threads > 1) throw new Error('--broker-delay-ms applies to one thread only (--threads 1)');

/** Plain TCP connections whose received data arrives `delayMs` late, in order. */
const delayedSockets =
  (delayMs: number): ISocketFactory =>
  ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const emit = socket.emit.bind(socket);
    socket.emit = (event: string | symbol, ...args: unknown[]) => {
      if (event !== 'data') return emit(event, ...args);
      setTimeout(() => emit(event, ...args), delayMs);
      return true;
    };
    return socket;
  };
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

runBench(async ({ config, prefix }) => {
  const kafka = createKafka(config.kafka, undefined);
  const workload = journeys({
    customers: Number(values.customers),
    start: '2026-10-01T00:00:00Z',
    days: 30,
    seed: 1,
    maxSteps: Number(values.steps),
  });
  await produceAll(config, workload);
  const total = workload.length;
  console.error(`[bench] ${total} events for ${values.customers} customers loaded`);

  // (1) raw consume of the same topic
  const raw = kafka.consumer({ groupId: `${prefix}raw`, maxBytesPerPartition: config.processor.maxBytesPerPartition });
  let seen = 0;
  await raw.connect();
  await raw.subscribe({ topic: topicsFor(prefix).events.name, fromBeginning: true });
  const rawBegan = performance.now();
  let rawFirst = 0;
  await raw.run({
    eachBatch: ({ batch }) => {
      if (rawFirst === 0) rawFirst = performance.now();
      seen += batch.messages.length;
      return Promise.resolve();
    },
  });
  await pollUntil(() => Promise.resolve(seen >= total ? true : undefined), {
    timeoutMs: 600_000,
    intervalMs: 20,
    what: 'the raw consumer',
  });
  const rawSeconds = (performance.now() - rawFirst) / 1000;
  const rawJoinSeconds = (rawFirst - rawBegan) / 1000;
  await raw.disconnect();

  // (2) the processor, exactly once, same topic
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const processorKafka = brokerDelayMs > 0 ? createKafka(config.kafka, undefined, { socketFactory: delayedSockets(brokerDelayMs) }) : kafka;
  const processor =
    threads > 1
      ? await runProcessorThreads({ ...config, processor: { ...config.processor, threads } }, createLogger('warn'))
      : await runProcessor({ kafka: processorKafka, registry: createRegistry(config.registry), config, logger: createLogger('warn') });
  const began = performance.now();
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  await processorCaughtUp(kafka, prefix, 1_800_000, 100).finally(() => {
    clearInterval(sampler);
  });
  const processorSeconds = (performance.now() - began) / 1000;
  global.gc?.();
  const rssAfter = process.memoryUsage().rss;
  // Live heap after a full GC while the processor still holds its state: the state's own size.
  const heapAfter = process.memoryUsage().heapUsed;
  await processor.stop();

  const customers = Number(values.customers);
  return {
    workload: {
      events: total,
      customers,
      partitions: config.kafka.topicPartitions,
      batchBytesPerPartition: config.processor.maxBytesPerPartition,
      brokerDelayMs,
      threads,
    },
    rawKafkajsConsume: { eventsPerSecond: Math.round(total / rawSeconds), groupJoinSeconds: +rawJoinSeconds.toFixed(1) },
    processor: { eventsPerSecond: Math.round(total / processorSeconds), secondsIncludingJoinAndRestore: +processorSeconds.toFixed(1) },
    processorToRawRatio: +(rawSeconds / processorSeconds).toFixed(3),
    rssMiB: {
      beforeProcessor: mib(rssBefore),
      afterProcessor: mib(rssAfter),
      peak: mib(peak),
      processorPer100kCustomers: mib(((rssAfter - rssBefore) / customers) * 100_000),
    },
    liveHeapMiB: threads > 1 ? null : { processorStatePer100kCustomers: mib(((heapAfter - heapBefore) / customers) * 100_000) },
  };
});
