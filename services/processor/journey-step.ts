/**
 * The journey step: resolved-events in (each event keyed by the customer the identity step
 * resolved it to, and identity commands), each customer's stage, profile and the KPI windows kept
 * in the partition's state (state/partition-state.ts, with the pure rules of rules/), and per batch
 * the records of what changed out. Run by the stream runner with an OwnedPartitions delivery, so a
 * batch's outputs, its changelog records and its offset commit in one transaction (processor.ts).
 *
 * - Processing is deterministic in the order of the partition, so the batch read again after a
 *   crash yields the same outputs as the one that was lost.
 * - An event or command the rules throw on (PartitionState changes nothing before it could throw)
 *   is set aside as a dead letter with the error as its reason: one message never stalls its partition.
 * - The KPI records of the days after tomorrow are held back per partition (days-ahead-hold.ts) and
 *   go out with a later batch, or alone between batches, or when the step stops.
 */
import type { KafkaMessage, Message, TopicMessages } from 'kafkajs';
import type { Logger } from '../common/logger.ts';
import type { OwnedPartition, OwnedPartitions } from '../common/owned-partitions.ts';
import { commitBatch } from '../common/kafka.ts';
import type { TopicEncoders } from '../common/record-codec.ts';
import { deadLetter, ok, reasonOf, type SetAside, type StepResult } from '../common/step-result.ts';
import type { StreamStep } from '../common/stream-runner.ts';
import { identityKeyOf, type JourneyEvent } from '../../schemas/event-contract.ts';
import { segmentKpiKey, type IdentityLinkRecord, type SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { IDENTITY_COMMANDS, IDENTITY_HEADERS, type IdentityCommand, type Topics } from '../../schemas/topics.ts';
import { anonymousIdOf } from './identity/links.ts';
import { DaysAheadHold } from './days-ahead-hold.ts';
import type { ChangelogRecord, EventOutcome, Flushed, PartitionState } from './state/partition-state.ts';

const LATE_HEADERS = { reason: 'journeyline.late.reason', streamTime: 'journeyline.late.stream_time' } as const;
const LATE_REASONS: Readonly<Record<'too_late' | 'beyond_dedup_horizon', string>> = {
  too_late: 'window closed beyond the allowed lateness',
  beyond_dedup_horizon:
    "older than the customer's remembered event_ids (PROCESSOR_DEDUP_WINDOW_DAYS / _MAX_IDS): not counted, as a replay could not be recognised",
};

/** The topics the processor publishes its records to (Avro, schemas registered at start). */
export const PROCESSOR_OUTPUTS = ['stageTransitions', 'customerProfiles', 'customersAtRisk', 'segmentKpis', 'identityLinks'] as const;
export type ProcessorEncoders = TopicEncoders<(typeof PROCESSOR_OUTPUTS)[number]>;

/**
 * A message of resolved-events: an event to count, an identity command, or a command this build
 * does not know (set aside by the step, after what did not decode: a batch's dead letters keep that order).
 */
export type JourneyInput = { readonly event: JourneyEvent } | { readonly command: IdentityCommand } | { readonly unknownCommand: string };

export interface Applied {
  /** Copies of the events past their window's lateness or the customer's dedup horizon. */
  readonly late: Message[];
  /** Commands this build does not know, then the events and commands the rules threw on, as dead letters. */
  readonly failed: { readonly message: KafkaMessage; readonly result: SetAside }[];
  /** Identity commands for other partitions (handovers, handbacks), on resolved-events. */
  readonly commands: Message[];
  /** identity-links records of merges and overflows. */
  readonly links: IdentityLinkRecord[];
}

const header = (message: KafkaMessage, name: string): string | undefined => message.headers?.[name]?.toString();

const isCommand = (name: string): name is IdentityCommand => (IDENTITY_COMMANDS as readonly string[]).includes(name);

/**
 * Carries out one identity command (rules/merge.ts): `merge` hands the visitor over to the
 * customer's partition; `handover` merges it there, or hands it back when the customer has no room;
 * `handback` takes it back.
 */
function applyCommand(
  state: PartitionState,
  message: KafkaMessage,
  command: IdentityCommand,
  maxAnonymousIds: number,
  applied: Applied,
): void {
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

/** A late event's copy for late-events, with why it did not count and the partition's stream time. */
const lateCopy = (message: KafkaMessage, outcome: 'too_late' | 'beyond_dedup_horizon', streamTimeMs: number | null): Message => ({
  key: message.key,
  value: message.value,
  headers: { ...message.headers, [LATE_HEADERS.reason]: LATE_REASONS[outcome], [LATE_HEADERS.streamTime]: String(streamTimeMs ?? '') },
});

/** Applies a batch's events and identity commands to the partition state, in order; sets aside what does not count. */
function applyBatch(
  state: PartitionState,
  inputs: readonly { readonly message: KafkaMessage; readonly value: JourneyInput }[],
  maxAnonymousIds: number,
): Applied {
  const applied: Applied = { late: [], failed: [], commands: [], links: [] };
  for (const { message, value } of inputs)
    if ('unknownCommand' in value)
      applied.failed.push({ message, result: deadLetter(`unknown identity command ${value.unknownCommand}`, 'decode') });
  for (const { message, value } of inputs) {
    if ('unknownCommand' in value) continue;
    let outcome: EventOutcome | 'command';
    try {
      if ('command' in value) {
        applyCommand(state, message, value.command, maxAnonymousIds, applied);
        outcome = 'command';
      } else {
        // The key is the customer the identity step resolved the event to.
        outcome = state.apply(message.key?.toString() ?? identityKeyOf(value.event), value.event);
      }
    } catch (error: unknown) {
      applied.failed.push({ message, result: deadLetter(`processing failed: ${reasonOf(error)}`, 'process') });
      continue;
    }
    if (outcome === 'too_late' || outcome === 'beyond_dedup_horizon') applied.late.push(lateCopy(message, outcome, state.streamTimeMs));
  }
  return applied;
}

const kpiMessages = (encode: ProcessorEncoders, records: readonly SegmentKpiRecord[]): Message[] =>
  records.map((record) => ({ key: segmentKpiKey(record.segment, record.day, record.partition), value: encode.segmentKpis(record) }));

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
    { topic: topics.segmentKpis.name, messages: kpiMessages(encode, flushed.windows) },
    { topic: topics.processorChangelog.name, messages: changelogMessages(partition, flushed.changelog) },
    { topic: topics.resolvedEvents.name, messages: applied.commands },
    { topic: topics.identityLinks.name, messages: applied.links.map((l) => ({ key: l.anonymous_id, value: encode.identityLinks(l) })) },
    { topic: topics.lateEvents.name, messages: applied.late },
  ].filter((t) => t.messages.length > 0);
}

export interface JourneyStepDeps {
  readonly topics: Topics;
  readonly encode: ProcessorEncoders;
  readonly groupId: string;
  readonly decodeEvent: (message: KafkaMessage) => Promise<StepResult<JourneyEvent>>;
  readonly partitions: OwnedPartitions<PartitionState>;
  readonly maxAnonymousIds: number;
  /** PROCESSOR_FAR_AHEAD_EVERY_MS. */
  readonly farAheadEveryMs: number;
  readonly logger: Logger;
}

export function createJourneyStep(deps: JourneyStepDeps): StreamStep<JourneyInput, OwnedPartition<PartitionState>> {
  const { topics, encode, groupId, partitions, logger } = deps;
  // The days after tomorrow a partition held back, alone, between its batches: the KPI records and
  // the changelog record that they are out, in one transaction without offsets, revised as of where
  // the partition stands. `take`: on assignment, where an earlier owner may have held some back.
  const publishHeldAhead = async (partition: number, take: boolean): Promise<void> => {
    const publish = async ({ state, producer }: OwnedPartition<PartitionState>, position: bigint) => {
      if (!state.holdsDaysAhead) return;
      const { windows, changelog } = state.flushHeldAhead(Number(position));
      const outputs = [
        { topic: topics.segmentKpis.name, messages: kpiMessages(encode, windows) },
        { topic: topics.processorChangelog.name, messages: changelogMessages(partition, changelog) },
      ];
      await commitBatch(
        producer,
        groupId,
        undefined,
        outputs.filter((t) => t.messages.length > 0),
      );
    };
    await partitions.betweenBatches(partition, publish, { take }).catch((err: unknown) => {
      logger.warn({ event: 'processor.days_ahead_failed', partition, err }, 'the partition is restored; what it held goes out after');
    });
  };
  const hold = new DaysAheadHold(deps.farAheadEveryMs, (partition) => publishHeldAhead(partition, false));

  return {
    name: 'processor',
    async decode(message) {
      // A message with the command header is a command, known to this build or not: never an event.
      const command = header(message, IDENTITY_HEADERS.command);
      if (command !== undefined) return ok(isCommand(command) ? { command } : { unknownCommand: command });
      const decoded = await deps.decodeEvent(message);
      return decoded.kind === 'ok' ? ok({ event: decoded.value }) : decoded;
    },
    // From the first event applied to the commit, whatever fails (an output that does not encode
    // too), the state ran ahead of what was committed and the runner has it dropped, or the batch
    // read again would find its events already counted and publish nothing for them.
    process(batch, { state }) {
      const { partition } = batch;
      const applied = applyBatch(state, batch.decoded, deps.maxAnonymousIds);
      // The KPI records' revision: where the partition stands after this batch (each commit's is higher).
      const flushed = state.flush(Number(batch.next), hold.due(partition));
      return Promise.resolve({
        outputs: batchOutputs(topics, encode, partition, flushed, applied),
        setAside: applied.failed,
        committed: () => {
          if (state.holdsDaysAhead) hold.later(partition);
          logger.debug({
            event: 'processor.batch',
            partition,
            messages: batch.messages.length,
            counted: batch.decoded.length,
            dead: batch.messages.length - batch.decoded.length,
          });
        },
      });
    },
    assigned(assignment) {
      const assigned = assignment.get(topics.resolvedEvents.name) ?? new Set<number>();
      logger.info({ event: 'processor.assigned', partitions: [...assigned] });
      // What an earlier owner held back goes out now, also where no batch will come.
      for (const partition of assigned) void publishHeldAhead(partition, true);
    },
    // Still in the group: what is held goes out now rather than with the next owner's first batch.
    async stopping() {
      hold.stop();
      await Promise.all(partitions.partitions.map((partition) => publishHeldAhead(partition, false)));
    },
  };
}
