/** Feeding events in and watching consumer groups catch up (no test framework here: benchmarks use it too). */
import type { Admin, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { JourneyEvent } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../../services/common/event-decoder.ts';
import { consumeN } from './kafka.ts';
import type { Config } from '../../services/common/config.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { EventProducer } from '../../services/producer/event-producer.ts';
import { identityGroupName, processorGroupName, topicsFor } from '../../schemas/topics.ts';

/**
 * Validates and sends events to the events topic of `config`, `perSend` at a time (each send a
 * record batch per partition, and a consumer's fetch returns whole record batches); any rejection is an error.
 */
export async function produceAll(config: Config, events: readonly unknown[], perSend = 1000): Promise<void> {
  const producer = await EventProducer.connect({
    kafka: createKafka(config.kafka, undefined),
    registry: createRegistry(config.registry),
    kafkaSettings: config.kafka,
    topics: topicsFor(config.topicPrefix),
    eventTime: config.events,
  });
  try {
    for (let i = 0; i < events.length; i += perSend) {
      const outcome = await producer.send(events.slice(i, i + perSend));
      if (outcome.rejected > 0)
        throw new Error(`workload rejected: ${JSON.stringify(outcome.results.find((r) => r.status === 'rejected'))}`);
    }
  } finally {
    await producer.close();
  }
}

/** Of the records now in `topics`, the share `groupId` has committed (1 = caught up). */
export async function committedFraction(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    let done = 0;
    for (const topic of topics) {
      total += await endIn(admin, topic);
      done += await committedIn(admin, groupId, topic);
    }
    return total === 0 ? 1 : done / total;
  } finally {
    await admin.disconnect();
  }
}

/** The records `topic` has held, summed over its partitions: its end offsets. */
export async function endIn(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** The offsets `groupId` has committed in `topic`, summed over its partitions (none: 0). */
export async function committedIn(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** The offsets `groupId` has committed in `topic`, over its partitions. */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await committedIn(admin, groupId, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once `groupId` has committed everything `topics` held when called. */
export async function caughtUp(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
  timeoutMs = 90_000,
  intervalMs = 200,
): Promise<void> {
  await pollUntil(async () => ((await committedFraction(kafka, groupId, topics)) >= 1 ? true : undefined), {
    timeoutMs,
    intervalMs,
    what: `group ${groupId} to commit everything in ${topics.join(', ')}`,
  });
}

/**
 * Resolves once the processor has counted everything the events topic held when called: its
 * identity step has resolved every event, and its journey step counted every resolved one and
 * every identity command between its partitions (a merge's handover is written before the
 * visitor's partition commits, so it is in the topic by the time that commit is seen).
 */
export async function processorCaughtUp(kafka: Kafka, topicPrefix: string, timeoutMs = 90_000, intervalMs = 200): Promise<void> {
  const topics = topicsFor(topicPrefix);
  await caughtUp(kafka, identityGroupName(topicPrefix), [topics.events.name], timeoutMs, intervalMs);
  await caughtUp(kafka, processorGroupName(topicPrefix), [topics.resolvedEvents.name], timeoutMs, intervalMs);
}

/** Reads `count` events from the events topic and decodes them as any consumer would. */
export async function readEvents(kafka: Kafka, registry: SchemaRegistry, topic: string, count: number): Promise<JourneyEvent[]> {
  const decode = createJourneyEventDecoder(registry);
  const messages = await consumeN(kafka, topic, count);
  return Promise.all(
    messages.map(async (message) => {
      const decoded = await decode(message);
      if (decoded.kind !== 'ok') throw new Error(`undecodable event on ${topic}: ${decoded.reason}`);
      return decoded.value;
    }),
  );
}
