/**
 * The journey processor: two steps, each a consumer group run by the stream runner with
 * exactly-once transactions (common/owned-partitions.ts). The identity step
 * (identity/identity-step.ts) reads the events topic, resolves each event to its customer and
 * forwards it to resolved-events; the journey step (journey-step.ts) reads resolved-events and
 * keeps each customer's stage, profile and the KPI windows, and merges an anonymous visitor into
 * its customer when the identity step links them (rules/merge.ts).
 *
 * Contract:
 * - Every input partition has its own transactional producer (transactional.id =
 *   <group>.<partition>). Taking a partition starts that producer, which fences any earlier owner
 *   (a zombie, or this process before a SIGKILL) and aborts its open transaction; only then is the
 *   partition's state read back from the compacted changelog.
 * - One batch = one transaction: outputs (transitions, profiles, KPI records and identity records
 *   in Avro under their registered schemas, identity commands for other partitions, late and
 *   dead-letter copies), the changelog records of what changed, and the consumer offset. Readers
 *   of the outputs read committed, so a crash at any point leaves either all of a batch or none: a
 *   visitor handed over is in exactly one partition's committed state, or in its handover.
 * - If a batch fails after its first event was applied (an output that does not encode, a
 *   transaction Kafka refuses), the partition's in-memory state is discarded (it ran ahead of what
 *   was committed) and the error is rethrown: kafkajs reads again from the committed offset and the
 *   state is restored again. A partition lost in a rebalance is dropped and its producer closed.
 */
import type { Config } from '../common/config.ts';
import { createKafka, ensureTopics, routingPartitioner } from '../common/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { OwnedPartitions, partitionsKafka, type TransactionalProducerFactory } from '../common/owned-partitions.ts';
import { registerTopicEncoders } from '../common/record-codec.ts';
import { createRegistry } from '../common/registry.ts';
import type { RunningService, ServiceDeps } from '../common/running-service.ts';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { segmentKpiRoute } from '../../schemas/processor-outputs.ts';
import { processorGroupName, topicsFor, type Topics } from '../../schemas/topics.ts';
import { runIdentityStep } from './identity/identity-step.ts';
import { PartitionState } from './state/partition-state.ts';
import { processorStepRunner } from './processor-steps.ts';
import { createJourneyStep, PROCESSOR_OUTPUTS, type ProcessorEncoders } from './journey-step.ts';

export interface ProcessorDeps extends ServiceDeps {
  /** The partitions' transactional producers (both steps): a test passes one that fails. */
  readonly producers?: TransactionalProducerFactory;
}

export const processorGroupOf = (config: Config) => processorGroupName(config.topicPrefix);

/** The topics the processor reads and writes, created where missing, and its outputs' schemas registered. */
export async function prepareProcessorTopics(
  deps: Pick<ProcessorDeps, 'kafka' | 'registry' | 'config'>,
): Promise<{ topics: Topics; encode: ProcessorEncoders }> {
  const topics = topicsFor(deps.config.topicPrefix);
  await ensureTopics(deps.kafka, deps.config.kafka, Object.values(topics));
  return { topics, encode: await registerTopicEncoders(deps.registry, topics, PROCESSOR_OUTPUTS) };
}

export async function runProcessor(deps: ProcessorDeps): Promise<RunningService> {
  const { kafka, registry, config, logger } = deps;
  const { topics, encode } = await prepareProcessorTopics(deps);
  const groupId = processorGroupOf(config);
  // murmur2 as every journeyline producer; the KPI records of one window go to one partition.
  const partitioner = routingPartitioner({ [topics.segmentKpis.name]: segmentKpiRoute });
  const partitions = new OwnedPartitions<PartitionState>(
    partitionsKafka(kafka, topics.processorChangelog.name, partitioner, deps.producers),
    logger,
    {
      groupId,
      changelogTopic: topics.processorChangelog.name,
      newState: (partition) => new PartitionState(partition, config.processor),
      restore: (state, key, value) => {
        state.restore(key, value);
      },
      describe: (state) => ({ customers: state.customerCount }),
      restoredEvent: 'processor.partition_restored',
    },
  );
  const identity = await runIdentityStep({ ...deps, topics, encode });
  const journey = processorStepRunner(deps, {
    groupId,
    input: topics.resolvedEvents.name,
    deadLetterTopic: topics.deadLetter.name,
    step: createJourneyStep({
      topics,
      encode,
      groupId,
      decodeEvent: createJourneyEventDecoder(registry),
      partitions,
      maxAnonymousIds: config.processor.identity.maxAnonymousIds,
      farAheadEveryMs: config.processor.farAheadEveryMs,
      logger,
    }),
    partitions,
  });
  await journey.start();
  return {
    died: Promise.race([journey.died, identity.died]),
    stop: async () => {
      await Promise.allSettled([identity.stop(), journey.stop()]);
    },
  };
}

/** A processor with Kafka and registry clients of its own, made from the configuration (a process's or a thread's). */
export function runConfiguredProcessor(config: Config, logger: Logger): Promise<RunningService> {
  return runProcessor({
    kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
    registry: createRegistry(config.registry),
    config,
    logger: logger.child({ component: 'processor' }),
  });
}
