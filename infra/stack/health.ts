/**
 * Real readiness, not an open port: the broker must answer ApiVersions and create a topic with a
 * leader; the registry must answer its Confluent-compatible subjects endpoint.
 */
import { Kafka, logLevel } from 'kafkajs';

const HEALTH_TOPIC = '__journeyline_health';

export async function kafkaAnswers(brokers: readonly string[]): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'journeyline-health',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(HEALTH_TOPIC)) {
      await admin.createTopics({ topics: [{ topic: HEALTH_TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [HEALTH_TOPIC] });
    return metadata.topics[0]?.partitions.every((p) => p.leader >= 0) ?? false;
  } finally {
    await admin.disconnect();
  }
}

export async function registryAnswers(registryUrl: string): Promise<boolean> {
  const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(3_000) });
  return response.ok;
}
