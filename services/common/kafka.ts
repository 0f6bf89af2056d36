import { Kafka, logLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
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
