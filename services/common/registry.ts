import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config.ts';

export function createRegistry(registry: Config['registry']): SchemaRegistry {
  return new SchemaRegistry({ host: registry.url, ...(registry.auth && { auth: registry.auth }) });
}
