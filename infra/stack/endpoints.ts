/** Where the running services are, whichever way they were started. */
export interface StackEndpoints {
  readonly kafkaBrokers: readonly string[];
  readonly registryUrl: string;
  /** A ClickHouse server's HTTP URL; undefined means embedded chDB in each process. */
  readonly clickhouseUrl: string | undefined;
}

/** The endpoints as the environment variables `loadConfig` reads, for child processes and tests. */
export function endpointsAsEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    ...(endpoints.clickhouseUrl !== undefined && { CLICKHOUSE_URL: endpoints.clickhouseUrl }),
  };
}
