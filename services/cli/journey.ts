#!/usr/bin/env node
/**
 * `journey` — the command line. Exit codes: 0 done, 1 failed, 2 bad usage or configuration,
 * 3 `produce` finished but rejected some events.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createRegistry } from '../common/registry.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { EventProducer } from '../producer/event-producer.ts';
import { produceNdjson } from '../producer/ndjson.ts';
import { runGenerator } from '../generator/run.ts';
import { readOnlyQuery } from '../dashboard/read-only-client.ts';
import { alertsCommand } from './alerts-command.ts';
import { generatorSettingsOf } from './generate-args.ts';
import { migrateCommand, runService, say, SERVICE_NAMES, start } from './service-runner.ts';
import { UsageError } from './usage-error.ts';

/** `journey sql`: the query, read-only, printed as ClickHouse formats it. */
async function sql(args: readonly string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { format: { type: 'string', default: 'PrettyCompactMonoBlock' } },
  });
  const query = positionals.join(' ');
  if (query.trim() === '') throw new UsageError('sql needs a query, e.g. journey sql "SELECT count() FROM journey.events"');
  const answer = await readOnlyQuery(config, query, { format: values.format });
  if (!answer.ok) {
    say(answer.text.trimEnd());
    return 1;
  }
  process.stdout.write(answer.text);
  return 0;
}

async function produce(args: readonly string[], config: Config): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { file: { type: 'string' }, batch: { type: 'string', default: '500' } } });
  if (values.file === undefined) throw new UsageError('produce needs --file <events.ndjson>');
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch must be a whole number >= 1');
  const producer = await EventProducer.connect({
    kafka: createKafka(config.kafka, undefined),
    registry: createRegistry(config.registry),
    kafkaSettings: config.kafka,
    topics: topicsFor(config.topicPrefix),
    eventTime: config.events,
  });
  try {
    const outcome = await produceNdjson(values.file, producer, batchSize);
    console.log(`accepted ${outcome.accepted}, rejected ${outcome.rejected}`);
    for (const r of outcome.rejections) {
      for (const e of r.errors) console.log(`line ${r.line}${r.event_id ? ` (${r.event_id})` : ''}: ${e.path || '(event)'}: ${e.message}`);
    }
    return outcome.rejected > 0 ? 3 : 0;
  } finally {
    await producer.close();
  }
}

/** `journey generate`: until Ctrl-C, or the end of the history when --rate is 0. */
async function generate(args: readonly string[], config: Config): Promise<number> {
  const settings = generatorSettingsOf(args, config);
  const generator = await runGenerator(
    settings,
    { kafka: createKafka(config.kafka, undefined), registry: createRegistry(config.registry), config },
    (p) => {
      say(
        `${p.phase}${p.day === undefined ? '' : ` ${p.day}`}: sent ${String(p.sent)}, accepted ${String(p.accepted)}, rejected ${String(p.rejected)} (${String(p.eventsPerSecond)} events/s)`,
      );
    },
  );
  const stop = () => {
    void generator.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await generator.done;
  } finally {
    await generator.stop();
  }
  return 0;
}

/** One `journey` command: a line in the overview, its own help (options and an example), and what it does. */
interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (args: readonly string[]) => Promise<number>;
}

// Services exit explicitly once stopped (see stopWithin): lingering client sockets must not hold them.
const COMMANDS: Readonly<Record<string, Command>> = {
  start: {
    summary: 'bring up Kafka, the registry and ClickHouse and run every service; Ctrl-C stops',
    help: `journey start [--demo]
  Acquires the development stack (docker compose, testcontainers or the native launcher; README),
  then runs the collector, processor, sink, alerts and dashboard in this process and prints their addresses.
  --demo   also send four weeks of generated history through the collector, then live traffic
example: ./dev start --demo`,
    run: async (args) => process.exit(await start(args)),
  },
  run: {
    summary: `run one service against the configured endpoints (production): ${SERVICE_NAMES.join(', ')}`,
    help: `journey run <service>
  service: ${SERVICE_NAMES.join(' | ')}
  Reads its settings from the environment (README, Configuration); stops on SIGTERM, exits 1 naming the cause if it dies.
example: KAFKA_BROKERS=kafka:9092 SCHEMA_REGISTRY_URL=http://registry:8081 journey run processor`,
    run: async (args) => process.exit(await runService(args[0], loadConfig())),
  },
  produce: {
    summary: 'validate and send a file of events, one JSON event per line',
    help: `journey produce --file <events.ndjson> [--batch 500]
  Each line is validated against the event contract; rejected lines are printed with the field at fault
  (exit 3 when some were rejected, the valid ones sent all the same).
example: journey produce --file today.ndjson`,
    run: (args) => produce(args, loadConfig()),
  },
  generate: {
    summary: 'realistic journeys: days of history, then live traffic (Ctrl-C stops)',
    help: `journey generate [--days 30] [--rate 20] [--customers 2000] [--seed 1] [--segments a,b]
                [--churn-segment S] [--collector URL]
  --rate 0 stops after the history; --collector sends through the HTTP collector instead of the producer library.
example: journey generate --days 7 --rate 0 --segments فروشگاه-تهران,online`,
    run: (args) => generate(args, loadConfig()),
  },
  migrate: {
    summary: 'apply the ClickHouse migrations (services apply them at start too)',
    help: `journey migrate
  Applies the numbered migrations not applied yet and the views when they changed; refuses a migration
  that changed after it was applied.
example: CLICKHOUSE_URL=http://clickhouse:8123 journey migrate`,
    run: () => migrateCommand(loadConfig()),
  },
  sql: {
    summary: 'run a read-only query: on CLICKHOUSE_URL, else on the running product (QUERY_URL)',
    help: `journey sql "<query>" [--format PrettyCompactMonoBlock]
  Read-only whatever the query says (a write is refused, READONLY).
example: journey sql "SELECT day, conversion_rate_pct FROM journey.segment_kpis_daily WHERE segment = '*' ORDER BY day DESC LIMIT 7"`,
    run: (args) => sql(args, loadConfig()),
  },
  alerts: {
    summary: 'firing and recent churn alerts; ack, snooze and unsnooze them',
    help: `journey alerts [--segment S] [--since 7d|24h|2026-11-01] [--format F]
journey alerts ack <alert-id> [--note TEXT] [--by NAME]
journey alerts snooze <alert-id | segment | segment|signal> --for 4h|2d|30m [--note TEXT] [--by NAME]
journey alerts unsnooze <target>
  Snoozes and acks silence notifications; alerts are still recorded.
example: journey alerts snooze فروشگاه-تهران --for 2d --note "Nowruz"`,
    run: (args) => alertsCommand(args, loadConfig()),
  },
};

const HELP_WORDS: ReadonlySet<string | undefined> = new Set(['help', '--help', '-h']);

const overview = () =>
  [
    'usage: journey <command> [options]     journey <command> --help: its options and an example',
    ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`),
    '  help       this list; journey help <command>: that command',
  ].join('\n');

/** The command asked for, or the help asked for (printed on stdout, exit 0). */
async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('no command');
  if (HELP_WORDS.has(name)) {
    const about = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    if (rest[0] !== undefined && about === undefined) throw new UsageError(`unknown command ${rest[0]}`);
    console.log(about?.help ?? overview());
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command ${name}`);
  if (rest.some((arg) => arg === '--help' || arg === '-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error: unknown) {
    // Told with this command's help, not the whole list.
    if (error instanceof UsageError && error.help === undefined) throw new UsageError(error.message, command.help);
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) say(`${error.message}\n${error.help ?? overview()}`);
    else say(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof ConfigError || error instanceof UsageError ? 2 : 1;
  },
);
