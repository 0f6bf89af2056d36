/**
 * The stack as containers, for machines with a Docker engine (testcontainers; Ryuk removes them
 * when this process exits). Same images and versions as docker-compose.yml.
 */
import type { StartedTestContainer } from 'testcontainers';
import { pollUntil } from '../../services/common/poll.ts';
import type { StackEndpoints } from './endpoints.ts';
import { kafkaAnswers } from './health.ts';
import { checkPortFree } from './processes.ts';

export const IMAGES = {
  kafka: 'apache/kafka:3.9.1',
  registry: 'apicurio/apicurio-registry:3.3.3',
  clickhouse: 'clickhouse/clickhouse-server:24.8',
} as const;

export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** A free host port for Kafka: its advertised listener must name the port clients dial. */
async function freeHostPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await checkPortFree(port)).free) return port;
  }
  throw new Error('no free host port for Kafka');
}

export async function startContainers(): Promise<{ endpoints: StackEndpoints; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafkaPort = await freeHostPort();
  const started: StartedTestContainer[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((c) => c.stop()));
  };
  const track = (container: StartedTestContainer) => {
    started.push(container);
    return container;
  };
  try {
    const [kafka, registry, clickhouse] = await Promise.all([
      new GenericContainer(IMAGES.kafka)
        .withExposedPorts({ container: 9092, host: kafkaPort })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start()
        .then(track),
      new GenericContainer(IMAGES.registry)
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
        .start()
        .then(track),
      new GenericContainer(IMAGES.clickhouse)
        .withExposedPorts(8123)
        // A throwaway server: the default user may connect over the network without a password.
        .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
        .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
        .start()
        .then(track),
    ]);
    const endpoints: StackEndpoints = {
      kafkaBrokers: [`127.0.0.1:${kafka.getMappedPort(9092)}`],
      registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      clickhouseUrl: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
    };
    await pollUntil(async () => ((await kafkaAnswers(endpoints.kafkaBrokers)) ? true : undefined), {
      timeoutMs: 60_000,
      what: `Kafka container at ${endpoints.kafkaBrokers.join(',')}`,
    });
    return { endpoints, stop };
  } catch (error: unknown) {
    await stop();
    throw error;
  }
}
