import { Kafka, logLevel, Partitioners, type KafkaConfig, type logCreator, type Producer, type SASLOptions } from 'kafkajs';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

const toPino = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
  [logLevel.NOTHING]: 'silent',
} as const;

/** kafkajs logs through our pino logger, one structured line per kafkajs event. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const method = toPino[level];
      if (method !== 'silent') logger[method]({ kafkajs: namespace, ...extra }, message);
    };
}

export function createKafka(kafka: Config['kafka'], logger: Logger | undefined, overrides: Partial<KafkaConfig> = {}): Kafka {
  const sasl: SASLOptions | undefined = kafka.sasl && {
    mechanism: kafka.sasl.mechanism,
    username: kafka.sasl.username,
    password: kafka.sasl.password,
  };
  return new Kafka({
    clientId: kafka.clientId,
    brokers: kafka.brokers,
    ssl: kafka.ssl,
    ...(sasl && { sasl }),
    ...(logger ? { logCreator: pinoLogCreator(logger), logLevel: logLevel.INFO } : { logLevel: logLevel.NOTHING }),
    ...overrides,
  });
}

export interface TopicToEnsure {
  readonly name: string;
  readonly compacted: boolean;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, settings: Config['kafka'], topics: readonly TopicToEnsure[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: settings.topicPartitions,
        replicationFactor: settings.replicationFactor,
        configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * An idempotent producer (acks=all, one request in flight: retries neither duplicate nor reorder)
 * with the Java client's murmur2 partitioner, so keys land where JVM producers would put them.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}
