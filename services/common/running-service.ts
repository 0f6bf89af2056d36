/** What every long-running service hands its process: how to stop it, and how to hear that it died. */
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface RunningService {
  /** Resolves if the service stops for good on its own (its consumer crashed for good): its process must stop, naming it. */
  readonly died: Promise<Error>;
  stop(): Promise<void>;
}

/** What a Kafka service is made of: its clients, the validated configuration and its logger. */
export interface ServiceDeps {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly config: Config;
  readonly logger: Logger;
}
