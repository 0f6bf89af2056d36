/**
 * The journey processor: two steps, each a consumer group with exactly-once transactions. The
 * identity step (identity/identity-step.ts) reads the events topic, resolves each event to its
 * customer and forwards it to resolved-events; the journey step, here, reads resolved-events and
 * keeps each customer's stage, profile and the daily KPI windows, and merges an anonymous visitor
 * into its customer when the identity step links them (rules/merge.ts).
 *
 * Contract:
 * - Every input partition has its own transactional producer (transactional.id =
 *   <group>.<partition>). Taking a partition starts that producer, which fences any earlier owner
 *   (a zombie, or this process before a SIGKILL) and aborts its open transaction; only then is the
 *   partition's state read back from the compacted changelog (common/owned-partitions.ts).
 * - One batch = one transaction: outputs (transitions, profiles, KPI window partials and identity
 *   records in Avro under their registered schemas, identity commands for other partitions, late and
 *   dead-letter copies), the changelog records of what changed, and the consumer offset. Readers
 *   of the outputs read committed, so a crash at any point leaves either all of a batch or none: a
 *   visitor handed over is in exactly one partition's committed state, or in its handover.
 * - Processing is deterministic in the order of the partition, so the batch re-read after a crash
 *   yields the same outputs as the one that was lost.
 * - An event or command the rules throw on (PartitionState changes nothing before it could throw)
 *   goes to the dead-letter topic with the error as its reason, in the same transaction: one
 *   message never stalls its partition.
 * - If a batch fails after its first event was applied (an output that does not encode, a
 *   transaction Kafka refuses), the partition's in-memory state is discarded (it ran ahead of what
 *   was committed) and the error is rethrown: kafkajs re-reads from the committed offset and the state
 *   is restored again. A partition lost in a rebalance is dropped and its producer closed.
 */
import type { Kafka, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../common/config.ts';
import { deadLetterMessage } from '../common/dead-letter.ts';
import { decodeOrSetAside, type DecodeResult } from '../common/decoding-consumer.ts';
import { commitBatch, createKafka, ensureTopics, routingPartitioner, whenConsumerDies } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { OwnedPartitions, type OwnedPartition } from '../common/owned-partitions.ts';
import { registerTopicEncoders, type TopicEncoders } from '../common/record-codec.ts';
import { createRegistry } from '../common/registry.ts';
import { identityKeyOf, type JourneyEvent } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { segmentKpiKey, segmentKpiRoute, type IdentityLinkRecord, type SegmentKpiPartial } from '../../schemas/processor-outputs.ts';
import {
  IDENTITY_COMMANDS,
  IDENTITY_HEADERS,
  processorGroupName,
  topicsFor,
  type IdentityCommand,
  type Topics,
} from '../../schemas/topics.ts';
import { runIdentityStep } from './identity/identity-step.ts';
import { anonymousIdOf } from './identity/links.ts';
import { PartitionState, type ChangelogRecord, type EventOutcome, type Flushed } from './state/partition-state.ts';
import { processorConsumerConfig } from './consumer-config.ts';
import { DaysAheadHold } from './days-ahead-hold.ts';

export interface ProcessorDeps {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly config: Config;
  readonly logger: Logger;
}

export interface RunningProcessor {
  /** Resolves if the consumer stops for good on its own (see whenConsumerDies). */
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

const LATE_HEADERS = { reason: 'journeyline.late.reason', streamTime: 'journeyline.late.stream_time' } as const;
const LATE_REASONS: Readonly<Record<'too_late' | 'beyond_dedup_horizon', string>> = {
  too_late: 'window closed beyond the allowed lateness',
  beyond_dedup_horizon:
    "older than the customer's remembered event_ids (PROCESSOR_DEDUP_WINDOW_DAYS / _MAX_IDS): not counted, as a replay could not be recognised",
};

export const processorGroupOf = (config: Config) => processorGroupName(config.topicPrefix);

export interface Applied {
  /** Copies of the events past their window's lateness or the customer's dedup horizon. */
  readonly late: Message[];
  /** Dead-letter copies of the events and commands the rules threw on. */
  readonly failed: Message[];
  /** Identity commands for other partitions (handovers, handbacks), on resolved-events. */
  readonly commands: Message[];
  /** identity-links records of merges and overflows. */
  readonly links: IdentityLinkRecord[];
}

/** A message of resolved-events in offset order: an event to count, or an identity command. */
type Item =
  { readonly message: KafkaMessage; readonly event: JourneyEvent } | { readonly message: KafkaMessage; readonly command: IdentityCommand };

const header = (message: KafkaMessage, name: string): string | undefined => message.headers?.[name]?.toString();

const isCommand = (name: string): name is IdentityCommand => (IDENTITY_COMMANDS as readonly string[]).includes(name);

/**
 * Carries out one identity command (rules/merge.ts): `merge` hands the visitor over to the
 * customer's partition; `handover` merges it there, or hands it back when the customer has no room;
 * `handback` takes it back.
 */
function carryOut(state: PartitionState, message: KafkaMessage, command: IdentityCommand, maxAnonymousIds: number, applied: Applied): void {
  const required = (name: string) => {
    const value = header(message, name);
    if (value === undefined || value === '') throw new Error(`identity command ${command} without ${name}`);
    return value;
  };
  const anonymousKey = required(IDENTITY_HEADERS.anonymousKey);
  const customer = required(IDENTITY_HEADERS.customer);
  const link = { at: Number(required(IDENTITY_HEADERS.at)), event_id: required(IDENTITY_HEADERS.eventId) };
  if (!Number.isFinite(link.at)) throw new Error(`identity command ${command} with a time that is not a number`);
  const handed = message.value === null || message.value.length === 0 ? null : message.value;
  const forward = (to: IdentityCommand, key: string, value: Buffer | null): Message => ({
    key,
    value,
    headers: { ...message.headers, [IDENTITY_HEADERS.command]: to },
  });
  const record = (status: 'merged' | 'overflow'): IdentityLinkRecord => ({
    anonymous_id: anonymousIdOf(anonymousKey),
    customer_id: customer,
    status,
    linked_to: null,
    at: new Date(link.at).toISOString(),
    event_id: link.event_id,
  });
  switch (command) {
    case 'merge':
      applied.commands.push(forward('handover', customer, state.handOver(anonymousKey)));
      return;
    case 'handover': {
      const outcome = state.merge(customer, handed, link, { maxAnonymousIds, returned: false });
      applied.links.push(record(outcome));
      if (outcome === 'overflow') applied.commands.push(forward('handback', anonymousKey, handed));
      return;
    }
    case 'handback':
      state.merge(anonymousKey, handed, link, { maxAnonymousIds, returned: true });
      return;
  }
}

/** Applies a batch's events and identity commands to the partition state, in order; sets aside what does not count. */
function applyItems(
  state: PartitionState,
  items: readonly Item[],
  source: { topic: string; partition: number; groupId: string; maxAnonymousIds: number },
  logger: Logger,
): Applied {
  const applied: Applied = { late: [], failed: [], commands: [], links: [] };
  for (const item of items) {
    const { message } = item;
    let outcome: EventOutcome | 'command';
    try {
      if ('command' in item) {
        carryOut(state, message, item.command, source.maxAnonymousIds, applied);
        outcome = 'command';
      } else {
        // The key is the customer the identity step resolved the event to.
        outcome = state.apply(message.key?.toString() ?? identityKeyOf(item.event), item.event);
      }
    } catch (error: unknown) {
      const reason = `processing failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      logger.warn({ event: 'processor.event_failed', partition: source.partition, offset: message.offset, reason });
      applied.failed.push(
        deadLetterMessage(
          { ...message, topic: source.topic, partition: source.partition },
          { reason, stage: 'process', consumerGroup: source.groupId },
        ),
      );
      continue;
    }
    if (outcome === 'too_late' || outcome === 'beyond_dedup_horizon') {
      applied.late.push({
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [LATE_HEADERS.reason]: LATE_REASONS[outcome],
          [LATE_HEADERS.streamTime]: String(state.streamTimeMs ?? ''),
        },
      });
    }
  }
  return applied;
}

/** The topics the processor publishes its records to (Avro, schemas registered at start). */
export const PROCESSOR_OUTPUTS = ['stageTransitions', 'customerProfiles', 'customersAtRisk', 'segmentKpis', 'identityLinks'] as const;
export type ProcessorEncoders = TopicEncoders<(typeof PROCESSOR_OUTPUTS)[number]>;

const shareMessages = (encode: ProcessorEncoders, shares: readonly SegmentKpiPartial[]): Message[] =>
  shares.map((share) => ({ key: segmentKpiKey(share.segment, share.day, share.partition), value: encode.segmentKpis(share) }));

/** Changelog records stay in the input's partition. */
const changelogMessages = (partition: number, records: readonly ChangelogRecord[]): Message[] =>
  records.map((r) => ({ key: r.key, value: r.value, partition }));

/** What one batch publishes, per topic. */
export function batchOutputs(
  topics: Topics,
  encode: ProcessorEncoders,
  partition: number,
  flushed: Flushed,
  applied: Applied,
  poison: readonly Message[],
): TopicMessages[] {
  return [
    {
      topic: topics.stageTransitions.name,
      messages: flushed.transitions.map((t) => ({ key: t.customer_id, value: encode.stageTransitions(t) })),
    },
    {
      topic: topics.customerProfiles.name,
      messages: flushed.profiles.map((p) => ({ key: p.customer_id, value: encode.customerProfiles(p) })),
    },
    { topic: topics.customersAtRisk.name, messages: flushed.atRisk.map((r) => ({ key: r.customer_id, value: encode.customersAtRisk(r) })) },
    { topic: topics.segmentKpis.name, messages: shareMessages(encode, flushed.windows) },
    { topic: topics.processorChangelog.name, messages: changelogMessages(partition, flushed.changelog) },
    { topic: topics.resolvedEvents.name, messages: applied.commands },
    { topic: topics.identityLinks.name, messages: applied.links.map((l) => ({ key: l.anonymous_id, value: encode.identityLinks(l) })) },
    { topic: topics.lateEvents.name, messages: applied.late },
    { topic: topics.deadLetter.name, messages: [...poison, ...applied.failed] },
  ].filter((t) => t.messages.length > 0);
}

/**
 * A batch of resolved-events as items in offset order: commands as they are, events decoded and
 * validated; what does not decode, or is a command this build does not know, as its dead-letter copy.
 */
async function itemsOf(
  batch: { readonly topic: string; readonly partition: number; readonly messages: readonly KafkaMessage[] },
  decode: (message: KafkaMessage) => Promise<DecodeResult<JourneyEvent>>,
  groupId: string,
): Promise<{ items: Item[]; poison: Message[] }> {
  // A message with the command header is a command, known to this build or not: never an event.
  const commands = new Map<KafkaMessage, string>();
  for (const message of batch.messages) {
    const command = header(message, IDENTITY_HEADERS.command);
    if (command !== undefined) commands.set(message, command);
  }
  const { decoded, poison } = await decodeOrSetAside(
    { ...batch, messages: batch.messages.filter((m) => !commands.has(m)) },
    decode,
    groupId,
  );
  const events = new Map(decoded.map(({ message, value }) => [message, value]));
  const items: Item[] = [];
  const unknown: Message[] = [];
  for (const message of batch.messages) {
    const command = commands.get(message);
    const event = events.get(message);
    if (command !== undefined && isCommand(command)) items.push({ message, command });
    else if (command !== undefined)
      unknown.push(
        deadLetterMessage(
          { ...message, topic: batch.topic, partition: batch.partition },
          { reason: `unknown identity command ${command}`, stage: 'decode', consumerGroup: groupId },
        ),
      );
    else if (event !== undefined) items.push({ message, event });
  }
  return { items, poison: [...poison.map((p) => p.deadLetter), ...unknown] };
}

/** The topics the processor reads and writes, created where missing, and its outputs' schemas registered. */
export async function prepareProcessorTopics(
  deps: Pick<ProcessorDeps, 'kafka' | 'registry' | 'config'>,
): Promise<{ topics: Topics; encode: ProcessorEncoders }> {
  const topics = topicsFor(deps.config.topicPrefix);
  await ensureTopics(deps.kafka, deps.config.kafka, Object.values(topics));
  return { topics, encode: await registerTopicEncoders(deps.registry, topics, PROCESSOR_OUTPUTS) };
}

export async function runProcessor(deps: ProcessorDeps): Promise<RunningProcessor> {
  const { kafka, registry, config, logger } = deps;
  const { topics, encode } = await prepareProcessorTopics(deps);
  const groupId = processorGroupOf(config);
  const decode = createJourneyEventDecoder(registry);
  const { maxAnonymousIds } = config.processor.identity;
  const faults = { failBatches: config.processor.faultFailBatches };
  const owned = new OwnedPartitions<PartitionState>(kafka, logger, {
    groupId,
    changelogTopic: topics.processorChangelog.name,
    newState: (partition) => new PartitionState(partition, config.processor),
    restore: (state, key, value) => {
      state.restore(key, value);
    },
    describe: (state) => ({ customers: state.customerCount }),
    // murmur2 as every journeyline producer; KPI shares of one window go to one partition.
    createPartitioner: routingPartitioner({ [topics.segmentKpis.name]: segmentKpiRoute }),
    restoredEvent: 'processor.partition_restored',
  });
  const identity = await runIdentityStep({ kafka, registry, config, logger, topics, encode });
  // The days after tomorrow a partition held back, alone, between its batches: the shares and the
  // changelog record that they are out, in one transaction without offsets, revised as of where the
  // partition stands. `take`: on assignment, where an earlier owner may have held some back.
  const publishHeldAhead = async (partition: number, take: boolean): Promise<void> => {
    const publish = async ({ state, producer }: OwnedPartition<PartitionState>, position: bigint) => {
      if (!state.holdsDaysAhead) return;
      const { windows, changelog } = state.flushHeldAhead(Number(position));
      const outputs = [
        { topic: topics.segmentKpis.name, messages: shareMessages(encode, windows) },
        { topic: topics.processorChangelog.name, messages: changelogMessages(partition, changelog) },
      ];
      await commitBatch(
        producer,
        groupId,
        undefined,
        outputs.filter((t) => t.messages.length > 0),
      );
    };
    await owned.betweenBatches(partition, publish, { take }).catch((err: unknown) => {
      logger.warn({ event: 'processor.days_ahead_failed', partition, err }, 'the partition is restored; what it held goes out after');
    });
  };
  const hold = new DaysAheadHold(config.processor.farAheadEveryMs, (partition) => publishHeldAhead(partition, false));

  const consumer = kafka.consumer(processorConsumerConfig(groupId, config.processor));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = new Set(payload.memberAssignment[topics.resolvedEvents.name] ?? []);
    owned.keepOnly(assigned, (partition, err) => {
      logger.warn({ event: 'processor.release_failed', partition, err });
    });
    logger.info({ event: 'processor.assigned', partitions: [...assigned] });
    // What an earlier owner held back goes out now, also where no batch will come.
    for (const partition of assigned) void publishHeldAhead(partition, true);
  });
  const died = whenConsumerDies(consumer);
  await owned.consume(
    consumer,
    topics.resolvedEvents.name,
    // From the first event applied to the commit: whatever fails (an output that does not encode
    // too), the state ran ahead of what was committed and is dropped (owned.consume), or the
    // re-read batch would find its events already counted and publish nothing for them.
    async (batch, { state, producer }) => {
      const { partition } = batch;
      const items = await itemsOf(batch, decode, groupId);
      const applied = applyItems(state, items.items, { topic: batch.topic, partition, groupId, maxAnonymousIds }, logger);
      // lastOffset() counts the transaction markers the fetch held after the last message.
      const next = BigInt(batch.lastOffset()) + 1n;
      // The shares' revision: where the partition stands after this batch (each commit's is higher).
      const flushed = state.flush(Number(next), hold.due(partition));
      const outputs = batchOutputs(topics, encode, partition, flushed, applied, items.poison);
      if (faults.failBatches > 0) {
        faults.failBatches--;
        throw new Error('fault injected (PROCESSOR_FAULT_FAIL_BATCHES): the batch failed after its events were applied');
      }
      await commitBatch(producer, groupId, { topic: batch.topic, partition, next: next.toString() }, outputs);
      if (state.holdsDaysAhead) hold.later(partition);
      logger.debug({
        event: 'processor.batch',
        partition,
        messages: batch.messages.length,
        counted: items.items.length,
        dead: items.poison.length,
      });
    },
    (partition, err) => {
      logger.warn({ event: 'processor.batch_failed', partition, err }, 'batch not committed; state will be restored');
    },
  );

  return {
    died: Promise.race([died, identity.died]),
    stop: async () => {
      // Still in the group: what is held goes out now rather than with the next owner's first batch.
      hold.stop();
      await Promise.all(owned.partitions.map((partition) => publishHeldAhead(partition, false)));
      await Promise.allSettled([identity.stop(), consumer.disconnect()]);
      await owned.releaseAll();
    },
  };
}

/** A processor with Kafka and registry clients of its own, made from the configuration (a process's or a thread's). */
export function runConfiguredProcessor(config: Config, logger: Logger): Promise<RunningProcessor> {
  return runProcessor({
    kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
    registry: createRegistry(config.registry),
    config,
    logger: logger.child({ component: 'processor' }),
  });
}
