/** What the processor published, as a reader keeps it, and the processor as a child process: for the suites that compare runs. */
import type { Kafka } from 'kafkajs';
import type { Config } from '../../services/common/config.ts';
import { createRegistry } from '../../services/common/registry.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS, type TopicRecord } from '../../schemas/topic-records.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { readRecords } from './kafka.ts';
import { startJourney } from './pipeline.ts';

/** Everything committed to the processor's output topics, reduced to what a reader keeps. */
export async function processorOutputsOf(kafka: Kafka, config: Config) {
  const topics = topicsFor(config.topicPrefix);
  const partitions = Array.from({ length: config.kafka.topicPartitions }, (_, i) => i);
  const registry = createRegistry(config.registry);
  // As JSON text: compared whole, and sorted.
  const read = async <T>(topic: string, contract: TopicRecord<T>) =>
    (await readRecords(kafka, registry, topic, contract, partitions)).map(({ key, value }) => ({
      key,
      value: value === null ? null : JSON.stringify(value),
    }));
  const latest = (records: { key: string; value: string | null }[]) => new Map(records.map((r) => [r.key, r.value]));
  const transitions = (await read(topics.stageTransitions.name, TOPIC_RECORDS.stageTransitions)).map((r) => r.value ?? '').sort();
  const profiles = [...latest(await read(topics.customerProfiles.name, TOPIC_RECORDS.customerProfiles))].sort(([a], [b]) =>
    a.localeCompare(b),
  );
  const kpis = [...latest(await read(topics.segmentKpis.name, TOPIC_RECORDS.segmentKpis))]
    .map(([key, value]) => {
      const { revision: _revision, ...partial } = JSON.parse(value ?? '{}') as SegmentKpiRecord;
      return [key, partial] as const;
    })
    .sort(([a], [b]) => a.localeCompare(b));
  // Every record, not the latest per customer: a record published twice would show.
  const atRisk = (await read(topics.customersAtRisk.name, TOPIC_RECORDS.customersAtRisk)).map((r) => r.value ?? '').sort();
  return { transitions, profiles, kpis, atRisk };
}

/** A processor process; its log is kept so a failure can show what the process saw. */
export const startProcessorChild = (config: Config, log: { push: (line: string) => void }, env: Record<string, string> = {}) =>
  startJourney(
    ['run', 'processor'],
    { TOPIC_PREFIX: config.topicPrefix, PROCESSOR_MAX_BYTES_PER_PARTITION: '8192', PROCESSOR_SESSION_TIMEOUT_MS: '6000', ...env },
    log,
  );
