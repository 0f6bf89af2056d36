/**
 * Back-to-back transactions of one transactional producer: `npm run bench:transactions`.
 *
 * What a busy partition of the processor does: a transaction (records to three topics, a consumed
 * offset, commit) right after the one before. Run with kafkajs's default retry and with
 * TRANSACTION_RETRY (common/kafka.ts), alternately, on the stack `npm start` would use; reports
 * each phase's p50/p90 per setting. The phase to watch is the send: its AddPartitionsToTxn is
 * refused (CONCURRENT_TRANSACTIONS) until the previous commit's markers are written, and retried.
 */
import { parseArgs } from 'node:util';
import type { Kafka, RetryOptions } from 'kafkajs';
import { createKafka, TRANSACTION_RETRY } from '../../services/common/kafka.ts';
import { percentile, runBench } from './harness.ts';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '2' },
  },
});

const PHASES = ['send', 'offsets', 'commit', 'total'] as const;
type Phase = (typeof PHASES)[number];

async function transactionsOf(kafka: Kafka, topics: readonly string[], id: string, retry: RetryOptions | undefined, count: number) {
  const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, ...(retry && { retry }) });
  await producer.connect();
  const times: Record<Phase, number[]> = { send: [], offsets: [], commit: [], total: [] };
  const [input, ...outputs] = topics;
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    const tx = await producer.transaction();
    await tx.sendBatch({
      topicMessages: outputs.map((topic) => ({
        topic,
        messages: Array.from({ length: 12 }, (_, k) => ({ key: `customer-${k}`, value: 'x'.repeat(200) })),
      })),
      acks: -1,
    });
    const sent = performance.now();
    await tx.sendOffsets({
      consumerGroupId: `${id}.group`,
      topics: [{ topic: input ?? '', partitions: [{ partition: 0, offset: String(i + 1) }] }],
    });
    const offsets = performance.now();
    await tx.commit();
    const committed = performance.now();
    times.send.push(sent - began);
    times.offsets.push(offsets - sent);
    times.commit.push(committed - offsets);
    times.total.push(committed - began);
  }
  await producer.disconnect();
  return times;
}

const percentiles = (list: readonly number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (p: number) => +(percentile(sorted, p) ?? 0).toFixed(1);
  return { p50: at(50), p90: at(90) };
};

runBench(async ({ config, prefix }) => {
  const kafka = createKafka(config.kafka, undefined);
  const admin = kafka.admin();
  await admin.connect();
  const topics = ['input', 'out-a', 'out-b', 'out-c'].map((name) => `${prefix}${name}`);
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 6 })), waitForLeaders: true });
  await admin.disconnect();
  const settings = { kafkajsDefault: undefined, transactionRetry: TRANSACTION_RETRY } as const;
  const measured = new Map<keyof typeof settings, Record<Phase, number[]>>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, retry] of Object.entries(settings) as [keyof typeof settings, RetryOptions | undefined][]) {
      const times = await transactionsOf(kafka, topics, `${prefix}${name}.${round}`, retry, Number(values.transactions));
      const into = measured.get(name) ?? { send: [], offsets: [], commit: [], total: [] };
      for (const phase of PHASES) into[phase].push(...times[phase]);
      measured.set(name, into);
    }
  }
  const report = Object.fromEntries(
    [...measured].map(([name, times]) => [name, Object.fromEntries(PHASES.map((phase) => [`${phase}Ms`, percentiles(times[phase])]))]),
  );
  const p50 = (name: keyof typeof settings) => percentiles(measured.get(name)?.total ?? []).p50;
  return {
    transactions: Number(values.transactions) * Number(values.rounds),
    ...report,
    totalP50Ratio: +(p50('kafkajsDefault') / p50('transactionRetry')).toFixed(1),
  };
});
