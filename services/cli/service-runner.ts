/**
 * The services of a `journey` process: each deployable as the CLI starts it (SERVICES), run until
 * a signal or the death of one, then stopped in reverse order within a deadline; `journey start`
 * acquires a development stack first, `journey run <service>` runs one against configured endpoints.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, redactUrl, type Config } from '../common/config.ts';
import { clickHouseMode, createClickHouse, type ClickHouseClient } from '../common/clickhouse.ts';
import { createKafka } from '../common/kafka.ts';
import { migrate } from '../common/migrations.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { DeadlineExceeded, withinDeadline } from '../common/poll.ts';
import { createRegistry } from '../common/registry.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { runCollector } from '../collector/run.ts';
import { startDashboard } from '../dashboard/dashboard.ts';
import { startQueryEndpoint } from '../dashboard/query-endpoint.ts';
import { queryTokensFor } from '../dashboard/query-token.ts';
import { startProcessor } from '../processor/threads.ts';
import { runAlerting } from '../alerts/alerting.ts';
import { runNotifier } from '../alerts/notifier.ts';
import { runSink } from '../sink/sink.ts';
import { runGenerator } from '../generator/run.ts';
import { Signals } from './signals.ts';
import { UsageError } from './usage-error.ts';
import { DEMO_SEGMENTS } from './generate-args.ts';

export const say = (line: string) => {
  console.error(line);
};

/** How a run ends: a signal asked it to, or one of its services died. */
type Ending = { readonly signal: NodeJS.Signals } | { readonly died: string; readonly error: Error };

function untilStopped(services: readonly RunningService[], signals: Signals): Promise<Ending> {
  // A pending promise alone does not keep Node running; this timer does, until the run ends.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return new Promise<Ending>((resolve) => {
    void signals.first.then((signal) => {
      resolve({ signal });
    });
    for (const service of services) {
      void service.died?.then((error) => {
        resolve({ died: service.name, error });
      });
    }
  }).finally(() => {
    clearInterval(keepAlive);
  });
}

/** One deployable as the CLI runs it (or the demo traffic): what to print once it is up, how it can die, how to stop it. */
interface RunningService {
  readonly name: ServiceName | 'demo' | 'starting';
  /** Lines for `journey start` to print once everything is up. */
  readonly about: readonly string[];
  /** Resolves if the service stops for good on its own; then the whole process stops, exit 1. */
  readonly died?: Promise<Error>;
  stop(): Promise<void>;
}

/** `healthy` is false once any service of this process died: /readyz says so. */
type ServiceFactory = (config: Config, logger: Logger, healthy: () => boolean) => Promise<RunningService>;

export const SERVICE_NAMES = ['collector', 'processor', 'sink', 'alerts', 'dashboard'] as const;
type ServiceName = (typeof SERVICE_NAMES)[number];

const SERVICES: Readonly<Record<ServiceName, ServiceFactory>> = {
  collector: async (config, logger, healthy) => {
    const collector = await runCollector(config, logger, healthy);
    return { name: 'collector', about: [`collector: POST ${collector.url}/v1/events`], stop: () => collector.close() };
  },
  processor: async (config, logger) => {
    const processor = await startProcessor(config, logger);
    return { name: 'processor', about: [], died: processor.died, stop: () => processor.stop() };
  },
  alerts: async (config, logger) => {
    const kafka = createKafka(config.kafka, logger.child({ component: 'kafka' }));
    const alertsLogger = logger.child({ component: 'alerts' });
    const registry = createRegistry(config.registry);
    const detector = await runAlerting({ kafka, registry, config, logger: alertsLogger });
    const notifier = await runNotifier({ kafka, registry, config, logger: alertsLogger }).catch(async (error: unknown) => {
      await detector.stop();
      throw error;
    });
    const webhooks = config.alerts.webhooks.map((w) => `${w.name} (${w.format})`).join(', ');
    return {
      name: 'alerts',
      about: [
        `alerts: ${webhooks === '' ? 'recorded only (set ALERT_WEBHOOKS to notify)' : `notifying ${webhooks}`}; ./dev run journey -- alerts`,
      ],
      died: Promise.race([detector.died, notifier.died]),
      stop: async () => {
        await notifier.stop();
        await detector.stop();
      },
    };
  },
  dashboard: async (config, logger) => {
    const dashboard = await startDashboard({
      config,
      kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
      logger: logger.child({ component: 'dashboard' }),
    });
    logger.info({ event: 'dashboard.listening', url: dashboard.url }, 'dashboard');
    return {
      name: 'dashboard',
      about: [`dashboard: ${dashboard.signInUrl}`],
      died: dashboard.died,
      stop: () => dashboard.close(),
    };
  },
  sink: async (config, logger) => {
    const clickhouse = await openClickHouse(config, logger);
    const sink = await runSink({
      kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
      registry: createRegistry(config.registry),
      clickhouse,
      config,
      logger: logger.child({ component: 'sink' }),
    });
    const queries = await openQueryEndpoint(config, logger);
    if (queries !== undefined)
      logger.info({ event: 'query.listening', url: queries.endpoint.url, token: queries.source }, 'read-only SQL endpoint');
    const about =
      queries === undefined
        ? [`query: ClickHouse at ${redactUrl(config.clickhouse.url ?? '')} (journey sql uses it)`]
        : [
            `query: ${queries.endpoint.url} (read-only SQL, ClickHouse HTTP interface)`,
            `  token: ${queries.source}`,
            `  Authorization: Bearer ${queries.tokens[0] ?? ''}`,
            `  ./dev run journey -- sql "SELECT * FROM journey.segment_kpis_daily ORDER BY day DESC LIMIT 10"${queries.endpoint.url === config.query.url ? '' : ` (with QUERY_URL=${queries.endpoint.url})`}`,
          ];
    return {
      name: 'sink',
      about,
      died: sink.died,
      stop: async () => {
        await sink.stop();
        await queries?.endpoint.close();
        await clickhouse.close();
      },
    };
  },
};

const DEMO = { days: 28, rate: 20, customers: 5000, seed: 1, churnSegment: 'فروشگاه-تهران' } as const;

/**
 * `journey start --demo`: four weeks of history through the collector, as backends would send it,
 * then live traffic. A failure of the demo traffic is logged; the product runs on.
 */
const demoTraffic: ServiceFactory = async (config, logger) => {
  const apiKey = config.collector.apiKeys[0] ?? '';
  const generator = await runGenerator(
    { ...DEMO, segments: DEMO_SEGMENTS, collector: { url: `http://${config.collector.host}:${String(config.collector.port)}`, apiKey } },
    { kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })), registry: createRegistry(config.registry), config },
    (progress) => {
      logger.debug({ event: 'demo.progress', ...progress });
    },
  );
  generator.historySent.then(
    () => {
      say(`demo: ${String(DEMO.days)} days of history sent; live traffic at ${String(DEMO.rate)} events/s`);
    },
    () => undefined,
  );
  generator.done.catch((error: unknown) => {
    logger.error({ event: 'demo.failed', err: error }, 'the demo traffic stopped; journeyline runs on');
  });
  return {
    name: 'demo',
    about: [
      `demo: ${String(DEMO.days)} days of history for ${DEMO_SEGMENTS.join(', ')} (the churn signals of ${DEMO.churnSegment} rise over the last week), then ${String(DEMO.rate)} events/s`,
    ],
    stop: () => generator.stop(),
  };
};

const isServiceName = (name: string | undefined): name is ServiceName => (SERVICE_NAMES as readonly (string | undefined)[]).includes(name);

/**
 * Starts services in order and runs them until a signal or the death of one; then stops all, in
 * reverse order and within a deadline. Exit code: 0 after a signal, 1 after a death.
 */
async function runServices(
  names: readonly ServiceName[],
  config: Config,
  logger: Logger,
  announce: (services: readonly RunningService[]) => void,
  options: { readonly extras?: readonly ServiceFactory[]; readonly signals?: Signals } = {},
): Promise<number> {
  const signals = options.signals ?? new Signals();
  const running: RunningService[] = [];
  let dead: string | undefined;
  let ending: Ending | undefined;
  try {
    for (const factory of [...names.map((name) => SERVICES[name]), ...(options.extras ?? [])]) {
      const starting = factory(config, logger, () => dead === undefined);
      const started = await signals.unlessSignalled(starting);
      if ('signal' in started) {
        // Stopped first (the last started), once it is up.
        running.push({ name: 'starting', about: [], stop: async () => (await starting.catch(() => undefined))?.stop() });
        ending = started;
        break;
      }
      running.push(started.value);
    }
    if (ending === undefined) {
      announce(running);
      ending = await untilStopped(running, signals);
    }
    if ('died' in ending) {
      dead = ending.died;
      logger.fatal(
        { event: 'service.died', service: ending.died, err: ending.error },
        `${ending.died} stopped for good; stopping everything`,
      );
      say(`${ending.died} stopped: ${ending.error.message}; stopping journeyline (exit 1)`);
    } else {
      logger.info({ event: 'service.stopping', signal: ending.signal }, 'stopping');
      say(`${ending.signal}: stopping`);
    }
  } finally {
    const stopped = await stopWithin(async () => {
      for (const service of running.reverse()) await service.stop();
    }, logger);
    if (stopped !== 0) ending = undefined;
  }
  return ending !== undefined && 'signal' in ending ? 0 : 1;
}

export async function start(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { demo: { type: 'boolean', default: false } } });
  // The development launcher is loaded here only: `journey run` in a production image needs no infra/.
  const { acquireStack } = await import('../../infra/stack/acquire.ts');
  const { endpointsAsEnv } = await import('../../infra/stack/endpoints.ts');
  const signals = new Signals();
  const acquiring = acquireStack(loadConfig(), process.env, say);
  const acquired = await signals.unlessSignalled(acquiring);
  if ('signal' in acquired) {
    say(`${acquired.signal}: stopping the stack once it has started`);
    await (await acquiring).release();
    return 0;
  }
  const stack = acquired.value;
  try {
    // The services see the acquired endpoints exactly as a production deployment would.
    const env = { ...process.env, ...endpointsAsEnv(stack.endpoints) };
    let keySource = 'COLLECTOR_API_KEYS';
    if (!env.COLLECTOR_API_KEYS?.trim()) {
      env.COLLECTOR_API_KEYS = `dev-${randomBytes(16).toString('hex')}`;
      keySource = 'generated for this run (set COLLECTOR_API_KEYS to choose your own)';
    }
    if (!env.DASHBOARD_API_KEYS?.trim()) env.DASHBOARD_API_KEYS = `dev-${randomBytes(16).toString('hex')}`;
    // The dashboard reads through the query endpoint this process's sink opens (embedded ClickHouse).
    if (!env.CLICKHOUSE_URL?.trim() && !env.QUERY_URL?.trim() && env.QUERY_PORT !== '0')
      env.QUERY_URL = `http://${env.QUERY_HOST?.trim() || '127.0.0.1'}:${env.QUERY_PORT?.trim() || '8123'}`;
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel, 'journeyline', config.logFormat);
    return await runServices(
      // The collector last: its /readyz says every service of the process is up.
      ['sink', 'processor', 'alerts', 'dashboard', 'collector'],
      config,
      logger,
      (services) => {
        say(`stack: ${stack.mode}${stack.started ? ' (started by this process)' : ' (already running)'}`);
        for (const [key, value] of Object.entries(endpointsAsEnv(stack.endpoints))) say(`  ${key}=${redactUrl(value)}`);
        if (stack.endpoints.clickhouseUrl === undefined) say(`  ClickHouse: embedded (chDB) at ${config.clickhouse.chdbPath}`);
        for (const service of [...services].reverse()) {
          for (const line of service.about) say(line);
          if (service.name === 'collector') {
            say(`  API key: ${keySource}`);
            if (keySource !== 'COLLECTOR_API_KEYS') say(`  Authorization: Bearer ${config.collector.apiKeys[0] ?? ''}`);
          }
        }
        say('running; Ctrl-C to stop');
      },
      { extras: values.demo ? [demoTraffic] : [], signals },
    );
  } finally {
    await stack.release();
  }
}

/** Embedded chDB belongs to the process that runs the sink: it also answers analysts' read-only queries. */
async function openQueryEndpoint(config: Config, logger: Logger) {
  if (clickHouseMode(config.clickhouse) !== 'embedded') return undefined;
  const { tokens, source } = queryTokensFor(config.query);
  const endpoint = await startQueryEndpoint({
    chdbPath: config.clickhouse.chdbPath,
    settings: config.query,
    apiKeys: tokens,
    logger: logger.child({ component: 'query' }),
  });
  return { endpoint, tokens, source };
}

/** The configured ClickHouse, migrated to this build's schema. */
async function openClickHouse(config: Config, logger: Logger): Promise<ClickHouseClient> {
  const clickhouse = createClickHouse(config.clickhouse);
  const report = await migrate(clickhouse, journeyMigrations());
  logger.info({
    event: 'clickhouse.migrated',
    mode: clickHouseMode(config.clickhouse),
    applied: report.applied,
    alreadyApplied: report.alreadyApplied,
  });
  return clickhouse;
}

export async function migrateCommand(config: Config): Promise<number> {
  const clickhouse = createClickHouse(config.clickhouse);
  try {
    const report = await migrate(clickhouse, journeyMigrations());
    console.log(
      report.applied.length === 0 ? `up to date (${report.alreadyApplied} applied before)` : `applied ${report.applied.join(', ')}`,
    );
    return 0;
  } finally {
    await clickhouse.close();
  }
}

/** Graceful stop, bounded: a client library holding a socket open must not keep a stopped service alive. */
const STOP_DEADLINE_MS = 20_000;

async function stopWithin(stop: () => Promise<void>, logger: Logger): Promise<number> {
  const stopped = await withinDeadline(stop(), STOP_DEADLINE_MS, 'stopping').then(
    () => true,
    (error: unknown) => {
      if (error instanceof DeadlineExceeded) return false;
      throw error;
    },
  );
  if (!stopped) logger.error({ event: 'service.stop_timeout', ms: STOP_DEADLINE_MS }, 'did not stop in time; exiting anyway');
  else logger.info({ event: 'service.stopped', stillOpen: process.getActiveResourcesInfo() }, 'stopped');
  return stopped ? 0 : 1;
}

export async function runService(name: string | undefined, config: Config): Promise<number> {
  if (!isServiceName(name)) throw new UsageError(`unknown service ${name ?? '(none)'}; known: ${SERVICE_NAMES.join(', ')}`);
  const logger = createLogger(config.logLevel, name, config.logFormat);
  return runServices([name], config, logger, () => {
    logger.info({ event: 'service.started', service: name }, 'running');
  });
}
