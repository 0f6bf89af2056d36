/**
 * What the processor does per batch, in memory: decode and validate each event (the processor's
 * own decoder, its schema lookup answered from memory), apply it to the partition's state, flush,
 * and encode the batch's outputs and changelog records as the processor sends them. No Kafka,
 * registry or ClickHouse: what is left is the rules and the state (bench:rules, bench).
 */
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { JOURNEY_EVENT_AVSC, identityKeyOf, toAvro } from '../../schemas/event-contract.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { loadConfig } from '../../services/common/config.ts';
import { createJourneyEventDecoder } from '../../services/common/event-decoder.ts';
import { encodersOf } from '../../services/common/record-codec.ts';
import type { TopicMessages } from 'kafkajs';
import { batchOutputs, PROCESSOR_OUTPUTS, type Applied } from '../../services/processor/journey-step.ts';
import { PartitionState, type Flushed } from '../../services/processor/state/partition-state.ts';
import { validateBatch } from '../../services/producer/event-producer.ts';
import { journeys } from '../helpers/journeys.ts';

const SCHEMA_ID = 1;
/** Splits customers over partitions as a key hash would (which hash does not matter here). */
const partitionOf = (key: string, partitions: number) => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
};
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const NOTHING_APPLIED: Applied = { late: [], failed: [], commands: [], links: [] };
const NOTHING_FLUSHED: Flushed = { transitions: [], atRisk: [], profiles: [], windows: [], changelog: [] };

export interface RulesCeiling {
  readonly workload: { readonly events: number; readonly customers: number; readonly partitions: number; readonly batchSize: number };
  readonly eventsPerSecond: number;
  readonly seconds: number;
  /** Every record a batch sends (outputs and changelog); of them, the segment-kpis shares. */
  readonly outputs: { readonly messagesPerEvent: number; readonly bytesPerEvent: number; readonly kpiRecordsPerEvent: number };
  readonly liveHeap: { readonly MiB: number; readonly bytesPerCustomer: number };
}

/**
 * `oneCustomer`: every event of the workload as one customer's (its own ids, times and kinds kept),
 * to compare a customer with that many events against that many customers.
 */
export async function rulesCeiling(options: {
  customers: number;
  steps: number;
  batchSize: number;
  /** The days after tomorrow go out with every this many batches (PROCESSOR_FAR_AHEAD_EVERY_MS at live rates), else are held. */
  farAheadEvery?: number;
  oneCustomer?: boolean;
}): Promise<RulesCeiling> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const topics = topicsFor('bench.');
  const partitions = config.kafka.topicPartitions;
  const { customers, batchSize } = options;
  const generated = journeys({ customers, start: '2026-10-01T00:00:00Z', days: 30, seed: 1, maxSteps: options.steps });
  const workload = options.oneCustomer === true ? generated.map((event) => ({ ...event, customer_id: 'one-busy-customer' })) : generated;
  const { events } = validateBatch(workload, { now: Date.parse('2026-11-15T00:00:00Z'), ...config.events });

  // The wire format once, as the events topic holds it, per partition in arrival order.
  const type = avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema);
  const header = Buffer.from([0, 0, 0, 0, SCHEMA_ID]);
  const byPartition: { key: string; value: Buffer; offset: string }[][] = Array.from({ length: partitions }, () => []);
  for (const event of events) {
    const key = identityKeyOf(event);
    const messages = byPartition[partitionOf(key, partitions)];
    messages?.push({ key, value: Buffer.concat([header, type.toBuffer(toAvro(event))]), offset: String(messages.length) });
  }
  const registry = { getSchema: () => Promise.resolve(type) } as unknown as SchemaRegistry;
  const decode = createJourneyEventDecoder(registry);

  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const encode = encodersOf(PROCESSOR_OUTPUTS, () => SCHEMA_ID);
  const states = Array.from({ length: partitions }, (_, partition) => new PartitionState(partition, config.processor));
  let outputBytes = 0;
  let outputMessages = 0;
  let kpiRecords = 0;
  const began = performance.now();
  for (let partition = 0; partition < partitions; partition++) {
    const state = states[partition] as PartitionState;
    const messages = byPartition[partition] ?? [];
    const count = (outputs: readonly TopicMessages[]) => {
      for (const { topic, messages: out } of outputs) {
        outputMessages += out.length;
        if (topic === topics.segmentKpis.name) kpiRecords += out.length;
        for (const m of out) outputBytes += m.value === null ? 0 : Buffer.byteLength(m.value);
      }
    };
    for (let from = 0; from < messages.length; from += batchSize) {
      for (const message of messages.slice(from, from + batchSize)) {
        const decoded = await decode({ key: Buffer.from(message.key), value: message.value });
        if (decoded.kind === 'ok') state.apply(identityKeyOf(decoded.value), decoded.value);
      }
      const farAhead = (from / batchSize) % (options.farAheadEvery ?? 1) === 0;
      count(batchOutputs(topics, encode, partition, state.flush(from + batchSize, farAhead), NOTHING_APPLIED));
    }
    // What the partition held at its end goes out alone, as once a partition goes quiet.
    const held = state.flushHeldAhead(messages.length);
    count(batchOutputs(topics, encode, partition, { ...NOTHING_FLUSHED, ...held }, NOTHING_APPLIED));
  }
  const seconds = (performance.now() - began) / 1000;
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const held = states.reduce((total, state) => total + state.customerCount, 0);
  return {
    workload: { events: events.length, customers: options.oneCustomer === true ? 1 : customers, partitions, batchSize },
    eventsPerSecond: Math.round(events.length / seconds),
    seconds: +seconds.toFixed(2),
    outputs: {
      messagesPerEvent: +(outputMessages / events.length).toFixed(2),
      bytesPerEvent: Math.round(outputBytes / events.length),
      kpiRecordsPerEvent: +(kpiRecords / events.length).toFixed(2),
    },
    liveHeap: { MiB: mib(heapAfter - heapBefore), bytesPerCustomer: Math.round((heapAfter - heapBefore) / held) },
  };
}
