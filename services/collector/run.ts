/** Wires the collector to real Kafka and the registry; used by `journey start` and `journey run collector`. */
import type { Config } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { basicAuthorization } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { DependencyProbe, readinessOf } from '../common/readiness.ts';
import { createRegistry } from '../common/registry.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { EventProducer } from '../producer/event-producer.ts';
import { startCollector, type RunningCollector } from './collector.ts';

/** `healthy`: whether the other services of this process are alive (journey start), for /readyz. */
export async function runCollector(config: Config, logger: Logger, healthy: () => boolean = () => true): Promise<RunningCollector> {
  if (config.collector.apiKeys.length === 0) throw new Error('COLLECTOR_API_KEYS: set at least one API key for the collector');
  const kafka = createKafka(config.kafka, logger.child({ component: 'kafka' }));
  const registry = createRegistry(config.registry);
  const producer = await EventProducer.connect({
    kafka,
    registry,
    kafkaSettings: config.kafka,
    topics: topicsFor(config.topicPrefix),
    eventTime: config.events,
  });
  const admin = kafka.admin();
  await admin.connect();
  const registryAuth = config.registry.auth
    ? { authorization: basicAuthorization(config.registry.auth.username, config.registry.auth.password) }
    : undefined;
  const probe = { timeoutMs: 3_000, downAfterMs: 15_000 };
  const probes = {
    kafka: new DependencyProbe(async () => (await admin.describeCluster()).brokers.length > 0, probe),
    registry: new DependencyProbe(
      async () =>
        (
          await fetch(`${config.registry.url}/subjects`, {
            // The probe counts as slow after 3 s; a registry that never answers is let go of later.
            signal: AbortSignal.timeout(30_000),
            ...(registryAuth && { headers: registryAuth }),
          })
        ).ok,
      probe,
    ),
  };
  const ready = () => readinessOf(probes, healthy() ? [] : ['services']);
  const collector = await startCollector({
    settings: config.collector,
    sink: producer,
    logger: logger.child({ component: 'collector' }),
    ready,
  });
  return {
    url: collector.url,
    close: async () => {
      await collector.close();
      await Promise.allSettled([producer.close(), admin.disconnect()]);
    },
  };
}
