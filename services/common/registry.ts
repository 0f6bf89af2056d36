import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config.ts';

/** The Confluent-compatible schema registry client, from validated settings (its credentials never logged). */
export function createRegistry(registry: Config['registry']): SchemaRegistry {
  return new SchemaRegistry({ host: registry.url, ...(registry.auth && { auth: registry.auth }) });
}
