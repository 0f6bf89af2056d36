/**
 * The broker SIGKILLed under a running processor and started again a while later, as an operator's
 * restart or a node reboot does: the processor rides it out (no one restarts it) and publishes
 * exactly what an uninterrupted run publishes — nothing lost, nothing counted twice. The broker
 * killed is a private native one (the suites' shared stack must not go down under them); the
 * uninterrupted reference runs on the shared stack.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NativeStack } from '../../infra/stack/native.ts';
import { loadConfig, type Config } from '../../services/common/config.ts';
import { createKafka, topicOffsets } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { journeys } from '../helpers/journeys.ts';
import { freePort } from '../helpers/net.ts';
import { exited, processorCaughtUp, produceAll, stopJourney, testLog } from '../helpers/pipeline.ts';
import { processorOutputsOf, startProcessorChild } from '../helpers/processor-outputs.ts';
import { committedOffsets } from '../helpers/streams.ts';
import { processorGroupOf } from '../../services/processor/processor.ts';
import { topicsFor } from '../../schemas/topics.ts';

/** A stack of its own: Kafka and the registry on free ports, in a scratch directory. */
async function privateStack(): Promise<{ stack: NativeStack; env: Record<string, string> }> {
  const [kafka, controller, registry, management] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const settings = loadConfig({
    ...process.env,
    STACK_DIR: mkdtempSync(path.join(tmpdir(), 'journeyline-outage-stack-')),
    STACK_KAFKA_PORT: String(kafka),
    STACK_KAFKA_CONTROLLER_PORT: String(controller),
    STACK_REGISTRY_PORT: String(registry),
    STACK_REGISTRY_MANAGEMENT_PORT: String(management),
    STACK_KAFKA_HEAP: '384m',
  }).stack;
  const stack = new NativeStack(settings);
  const { endpoints } = await stack.up();
  return { stack, env: { KAFKA_BROKERS: endpoints.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: endpoints.registryUrl } };
}

const OUTAGE_MS = 25_000;

describe.skipIf(inject('stackMode') !== 'native')('a Kafka outage under the processor', () => {
  let stack: NativeStack | undefined;
  afterAll(async () => {
    await stack?.reset();
  });

  it(
    'is ridden out: the broker SIGKILLed mid-stream and started again, the processor publishes what an uninterrupted run does',
    { timeout: 360_000 },
    async () => {
      const { log, phase } = testLog('kafka-outage');
      const own = await privateStack();
      stack = own.stack;
      phase('private stack up');
      const workload = journeys({ customers: 150, start: '2026-11-01T00:00:00Z', days: 6, seed: 7 });
      const victim: Config = testConfig({ ...own.env, TOPIC_PREFIX: `${uniqueName('outage')}.` });
      const reference: Config = testConfig({ TOPIC_PREFIX: `${uniqueName('reference')}.` });
      await Promise.all([produceAll(victim, workload), produceAll(reference, workload)]);
      const sharedKafka = createKafka(reference.kafka, undefined);
      const ownKafka = createKafka(victim.kafka, undefined);

      const uninterrupted = startProcessorChild(reference, log);
      await processorCaughtUp(sharedKafka, reference.topicPrefix, 180_000);
      await stopJourney(uninterrupted);
      phase('reference done');

      const processor = startProcessorChild(victim, log, own.env);
      const died = exited(processor).then(() => `the processor exited (code ${String(processor.exitCode)}) during the outage`);
      const topics = topicsFor(victim.topicPrefix);
      const progress = await pollUntil(
        async () => {
          // Of the events, the share the journey step counted (its committed offsets over the events' count).
          const counted = await committedOffsets(ownKafka, processorGroupOf(victim), topics.resolvedEvents.name);
          const fraction = counted / (await topicOffsets(ownKafka, topics.events.name)).reduce((sum, p) => sum + Number(p.high), 0);
          return fraction >= 0.2 ? fraction : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 20, what: 'the processor to commit a fifth of the events' },
      );
      const pid = own.stack.signal('kafka', 'SIGKILL');
      await own.stack.waitGone(pid);
      phase(`broker killed at ${(progress * 100).toFixed(0)}% committed`);
      expect(progress).toBeLessThan(1);
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await own.stack.startAgain('kafka');
      phase('broker started again');

      const outcome = await Promise.race([processorCaughtUp(ownKafka, victim.topicPrefix, 240_000).then(() => 'caught up'), died]);
      expect(outcome).toBe('caught up');
      phase('processor caught up after the outage');
      await stopJourney(processor);

      const [after, expected] = await Promise.all([processorOutputsOf(ownKafka, victim), processorOutputsOf(sharedKafka, reference)]);
      expect(after.transitions.length).toBeGreaterThan(150);
      expect(after.transitions).toEqual(expected.transitions);
      expect(after.profiles).toEqual(expected.profiles);
      expect(after.kpis).toEqual(expected.kpis);
      expect(after.atRisk).toEqual(expected.atRisk);
    },
  );
});
