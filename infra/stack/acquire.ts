/**
 * The one code path that decides where Kafka, the registry and ClickHouse come from, used alike
 * by `npm start` and the test suites:
 *   1. endpoints given in the environment (KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or JOURNEY_STACK=external);
 *   2. else containers, when a Docker engine answers;
 *   3. else the native launcher (JVMs on this machine, ClickHouse embedded).
 * `release` undoes only what `acquireStack` itself started; with `ephemeral` (tests, benchmarks)
 * a native stack it started is also wiped, so their topics do not pile up in the developer's stack.
 */
import { endpointsGivenIn, type Config } from '../../services/common/config.ts';
import { dockerAvailable, startContainers } from './containers.ts';
import type { StackEndpoints } from './endpoints.ts';
import { NativeStack } from './native.ts';

export type StackMode = 'external' | 'docker' | 'native';

export interface AcquiredStack {
  readonly mode: StackMode;
  readonly endpoints: StackEndpoints;
  /** True when this call started the services (and `release` will stop them). */
  readonly started: boolean;
  release(): Promise<void>;
}

async function chooseMode(config: Config, env: Readonly<Record<string, string | undefined>>): Promise<StackMode> {
  if (config.stackMode !== 'auto') return config.stackMode;
  if (endpointsGivenIn(env)) return 'external';
  return (await dockerAvailable()) ? 'docker' : 'native';
}

export async function acquireStack(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  report: (line: string) => void = () => undefined,
  options: { readonly ephemeral?: boolean } = {},
): Promise<AcquiredStack> {
  const mode = await chooseMode(config, env);
  switch (mode) {
    case 'external':
      return {
        mode,
        endpoints: { kafkaBrokers: config.kafka.brokers, registryUrl: config.registry.url, clickhouseUrl: config.clickhouse.url },
        started: false,
        release: () => Promise.resolve(),
      };
    case 'docker': {
      report('Docker engine found: starting Kafka, Apicurio Registry and ClickHouse containers');
      const { endpoints, stop } = await startContainers();
      return { mode, endpoints, started: true, release: stop };
    }
    case 'native': {
      const stack = new NativeStack(config.stack);
      const { endpoints, started } = await stack.up(report);
      return {
        mode,
        endpoints,
        started,
        release: async () => {
          if (started) await (options.ephemeral === true ? stack.reset() : stack.down());
        },
      };
    }
  }
}
