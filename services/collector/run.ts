/** Wires the collector to real Kafka and the registry; used by `journey start` and `journey run collector`. */
import type { Config } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { basicAuthorization } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { withinDeadline } from '../common/poll.ts';
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
  const ready = async () => {
    if (!healthy()) return false;
    const [cluster, subjects] = await Promise.all([
      withinDeadline(admin.describeCluster(), 3_000, 'describing the Kafka cluster'),
      fetch(`${config.registry.url}/subjects`, { signal: AbortSignal.timeout(3_000), ...(registryAuth && { headers: registryAuth }) }),
    ]);
    return cluster.brokers.length > 0 && subjects.ok;
  };
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
