/**
 * The processor's identity step: a consumer group over the events topic (keyed by anonymous id,
 * else customer) that resolves each event to its customer and forwards it, untouched, to
 * resolved-events keyed by that customer, where the journey step counts it.
 *
 * Contract:
 * - Exactly once, as the journey step: one transaction per partition batch holds the forwarded
 *   events, the merge commands, the identity-links records, the changelog of the links and the
 *   consumer offset; a partition's producer fences its earlier owner before the links are restored
 *   from identity-changelog. A crash between a link and its merge replays both or neither.
 * - On the first link of an anonymous id the merge command goes out before the linking event and
 *   after every earlier event of the id (they share this partition, and their keys one partition
 *   of resolved-events), so the visitor's partition hands over everything it counted.
 * - What does not decode or validate goes to the dead-letter topic with its reason, in the same
 *   transaction; nothing stalls the partition.
 * - An anonymous id's links live in the partition its key `anon:<id>` has under the murmur2
 *   partitioner (our producers'). An event of the id found in another partition (a producer that
 *   keys by customer, or places keys with another hash, as librdkafka's default does) is sent on to
 *   that partition, bytes untouched, in the batch's transaction, and counted there as an event
 *   arriving then: never linked by a partition that does not hold the id's link. The sink stores both copies as it stores an
 *   event a backend sent twice (`events` folds an event_id on merge).
 */
import { Partitioners, type Kafka, type KafkaMessage, type Message } from 'kafkajs';
import type { Config } from '../../common/config.ts';
import { createEventIdentityDecoder } from '../../common/event-decoder.ts';
import { isRetriable, keyPartitioner, topicOffsets } from '../../common/kafka.ts';
import { retryWithBackoff } from '../../common/retry.ts';
import type { Logger } from '../../common/logger.ts';
import { OwnedPartitions, partitionsKafka, type OwnedPartition, type TransactionalProducerFactory } from '../../common/owned-partitions.ts';
import type { TopicEncoders } from '../../common/record-codec.ts';
import type { RunningService, ServiceDeps } from '../../common/running-service.ts';
import { redirect, type SetAside, type StepResult } from '../../common/step-result.ts';
import type { StreamStep } from '../../common/stream-runner.ts';
import { identityGroupName, IDENTITY_HEADERS, processorGroupName, type Topics } from '../../../schemas/topics.ts';
import type { EventIdentity } from '../../../schemas/event-contract.ts';
import type { IdentityLinkRecord } from '../../../schemas/processor-outputs.ts';
import { anonymousKeyOf, homeKeyOf, routeEvent, type AnonymousLink } from './links.ts';
import { processorStepRunner } from '../processor-steps.ts';

export interface IdentityStepDeps extends ServiceDeps {
  readonly topics: Topics;
  readonly encode: TopicEncoders<'identityLinks'>;
  /** The partitions' transactional producers: a test passes one that fails. */
  readonly producers?: TransactionalProducerFactory;
}

/** One partition's links, as committed: anonymous id → its link (restored from identity-changelog). */
class PartitionLinks {
  readonly links = new Map<string, AnonymousLink>();

  restore(key: string, value: Buffer | null): void {
    if (value === null) this.links.delete(key);
    else this.links.set(key, JSON.parse(value.toString('utf8')) as AnonymousLink);
  }
}

export const identityGroupOf = (config: Config): string => identityGroupName(config.topicPrefix);

/** The record of a link decision for identity-links. */
const linkRecord = (
  anonymousId: string,
  link: AnonymousLink,
  status: IdentityLinkRecord['status'],
  customer: string,
): IdentityLinkRecord => ({
  anonymous_id: anonymousId,
  customer_id: customer,
  status,
  linked_to: status === 'conflict' ? link.customer_id : null,
  at: new Date(link.at).toISOString(),
  event_id: link.event_id,
});

/** A merge command: asks the visitor's partition to hand `anonymousId` over to its customer. */
function mergeCommand(anonymousId: string, link: AnonymousLink): Message {
  return {
    key: anonymousKeyOf(anonymousId),
    value: null,
    headers: {
      [IDENTITY_HEADERS.command]: 'merge',
      [IDENTITY_HEADERS.anonymousKey]: anonymousKeyOf(anonymousId),
      [IDENTITY_HEADERS.customer]: link.customer_id,
      [IDENTITY_HEADERS.eventId]: link.event_id,
      [IDENTITY_HEADERS.at]: String(link.at),
    },
  };
}

/**
 * Before the identity step, the journey step read the events topic itself: a processor upgraded
 * from then starts its identity step where the journey step had got to, rather than forwarding
 * every event again (most would be recognised as replays, older ones set aside as late).
 */
async function adoptJourneyStepOffsets(kafka: Kafka, topics: Topics, config: Config, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = topics.events.name;
    const offsetsOf = async (groupId: string) => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
    if ((await offsetsOf(identityGroupOf(config))).some((p) => Number(p.offset) >= 0)) return;
    const earlier = (await offsetsOf(processorGroupName(config.topicPrefix))).filter((p) => Number(p.offset) >= 0);
    if (earlier.length === 0) return;
    await admin.setOffsets({
      groupId: identityGroupOf(config),
      topic,
      partitions: earlier.map(({ partition, offset }) => ({ partition, offset })),
    });
    logger.info(
      { event: 'identity.offsets_adopted', partitions: earlier.length },
      'the identity step starts where the journey step had read the events topic',
    );
  } finally {
    await admin.disconnect();
  }
}

interface IdentityStepOptions {
  readonly topics: Topics;
  readonly encode: TopicEncoders<'identityLinks'>;
  readonly decode: (message: KafkaMessage) => Promise<StepResult<EventIdentity>>;
  readonly blocked: Config['processor']['identity']['blockedAnonymousIds'];
  /** The partition of the events topic where an id's links live (murmur2 of its key). */
  readonly homePartitionOf: (key: string) => number;
  readonly logger: Logger;
}

export function createIdentityStep(options: IdentityStepOptions): StreamStep<EventIdentity, OwnedPartition<PartitionLinks>> {
  const { topics, encode, blocked, homePartitionOf, logger } = options;
  return {
    name: 'identity',
    decode: options.decode,
    process(batch, { state }) {
      const { partition } = batch;
      const resolved: Message[] = [];
      const records: Message[] = [];
      const changed = new Map<string, AnonymousLink>();
      const elsewhere: { message: KafkaMessage; result: SetAside }[] = [];
      for (const { message, value } of batch.decoded) {
        const headers = message.headers !== undefined ? { headers: message.headers } : {};
        const home = homeKeyOf(value, blocked);
        const homePartition = home === null ? partition : homePartitionOf(home);
        if (home !== null && homePartition !== partition) {
          elsewhere.push({
            message,
            result: redirect(topics.events.name, { key: home, value: message.value, partition: homePartition, ...headers }),
          });
          continue;
        }
        const anonymousId = value.anonymous_id ?? '';
        const routing = routeEvent(value, changed.get(anonymousId) ?? state.links.get(anonymousId), blocked);
        if (routing.kind === 'link') resolved.push(mergeCommand(routing.anonymousId, routing.link));
        if (routing.kind !== 'forward') {
          changed.set(routing.anonymousId, routing.link);
          const status = routing.kind === 'link' ? 'linked' : 'conflict';
          records.push({
            key: routing.anonymousId,
            value: encode.identityLinks(linkRecord(routing.anonymousId, routing.link, status, routing.key)),
          });
        }
        resolved.push({ key: routing.key, value: message.value, ...headers });
      }
      const outputs = [
        { topic: topics.resolvedEvents.name, messages: resolved },
        { topic: topics.identityLinks.name, messages: records },
        {
          topic: topics.identityChangelog.name,
          messages: [...changed].map(([anonymousId, link]) => ({ key: anonymousId, value: JSON.stringify(link), partition })),
        },
      ].filter((t) => t.messages.length > 0);
      return Promise.resolve({
        outputs,
        setAside: elsewhere,
        // Only now: links decided in a batch that was not committed are decided again when it is read again.
        committed: () => {
          for (const [anonymousId, link] of changed) state.links.set(anonymousId, link);
          if (elsewhere.length > 0)
            logger.warn(
              { event: 'identity.events_placed_elsewhere', partition, events: elsewhere.length },
              "events of anonymous ids found outside their ids' partition (a producer keys or partitions otherwise); sent on to it",
            );
          logger.debug({
            event: 'identity.batch',
            partition,
            messages: batch.messages.length,
            links: changed.size,
            dead: batch.messages.length - batch.decoded.length,
          });
        },
      });
    },
  };
}

export async function runIdentityStep(deps: IdentityStepDeps): Promise<RunningService> {
  const { kafka, registry, config, logger, topics, encode } = deps;
  const groupId = identityGroupOf(config);
  const partitions = new OwnedPartitions<PartitionLinks>(
    partitionsKafka(kafka, topics.identityChangelog.name, Partitioners.DefaultPartitioner, deps.producers),
    logger,
    {
      groupId,
      changelogTopic: topics.identityChangelog.name,
      newState: () => new PartitionLinks(),
      restore: (state, key, value) => {
        state.restore(key, value);
      },
      describe: (state) => ({ links: state.links.size }),
      restoredEvent: 'identity.partition_restored',
    },
  );
  // Right after Kafka starts its group coordinator may not be ready: retried as kafkajs would.
  await retryWithBackoff(() => adoptJourneyStepOffsets(kafka, topics, config, logger), {
    isRetryable: isRetriable,
    firstBackoffMs: 100,
    maxBackoffMs: 1_000,
    attempts: 30,
  });
  const runner = processorStepRunner(deps, {
    groupId,
    input: topics.events.name,
    deadLetterTopic: topics.deadLetter.name,
    step: createIdentityStep({
      topics,
      encode,
      // Only the ids: the identity step routes by them and forwards the bytes; the journey step checks the rest.
      decode: createEventIdentityDecoder(registry),
      blocked: config.processor.identity.blockedAnonymousIds,
      // Counted once: an events topic given more partitions later keeps its ids' homes until a restart.
      homePartitionOf: keyPartitioner((await topicOffsets(kafka, topics.events.name)).length),
      logger,
    }),
    partitions,
  });
  await runner.start();
  return { died: runner.died, stop: () => runner.stop() };
}
