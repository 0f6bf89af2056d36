/**
 * The product as the fault suite runs it: a native stack of its own (Kafka and the registry on free
 * ports, in a scratch directory, so killing them touches nothing else), and `journey run collector`,
 * `processor` and `sink` as separate processes on it (the sink with its own embedded ClickHouse and
 * query endpoint), each of which the suite can SIGKILL and start again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeStack } from '../../infra/stack/native.ts';
import { loadConfig, type Config } from '../../services/common/config.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { freePort } from '../helpers/net.ts';
import { privateStackEnv } from '../helpers/stack.ts';
import { TEST_QUERY_TOKEN } from '../helpers/sql.ts';

const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');
export const FAULT_API_KEY = 'fault-suite-collector-key-0123456789';
export const SERVICES = ['sink', 'processor', 'collector'] as const;
export type ServiceName = (typeof SERVICES)[number];

export class FaultCluster {
  readonly stack: NativeStack;
  readonly config: Config;
  readonly collectorUrl: string;
  readonly queryUrl: string;
  /** Exits nobody asked for: a service that stopped on its own during a fault is a failure of the suite. */
  readonly unexpectedExits: string[] = [];
  private readonly env: Record<string, string>;
  private readonly logFile: string;
  private readonly children = new Map<ServiceName, ChildProcess>();

  private constructor(stack: NativeStack, env: Record<string, string>, logFile: string) {
    this.stack = stack;
    this.env = env;
    this.logFile = logFile;
    this.config = loadConfig(env);
    this.collectorUrl = `http://127.0.0.1:${env.COLLECTOR_PORT ?? ''}`;
    this.queryUrl = `http://127.0.0.1:${env.QUERY_PORT ?? ''}`;
  }

  /** Brings up the private stack and the three services; `env` is laid over the suite's settings. */
  static async start(logDir: string, env: Record<string, string> = {}): Promise<FaultCluster> {
    const [stackEnv, collector, query] = await Promise.all([privateStackEnv('faults'), freePort(), freePort()]);
    const stack = new NativeStack(loadConfig({ ...process.env, ...stackEnv }).stack);
    const { endpoints } = await stack.up();
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    const cluster = new FaultCluster(
      stack,
      {
        ...(process.env as Record<string, string>),
        ...stackEnv,
        KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
        SCHEMA_REGISTRY_URL: endpoints.registryUrl,
        CLICKHOUSE_URL: '',
        CHDB_PATH: mkdtempSync(path.join(tmpdir(), 'journeyline-faults-chdb-')),
        TOPIC_PREFIX: `faults.${Date.now().toString(36)}.`,
        LOG_LEVEL: 'info',
        COLLECTOR_API_KEYS: FAULT_API_KEY,
        COLLECTOR_PORT: String(collector),
        QUERY_PORT: String(query),
        QUERY_API_KEYS: TEST_QUERY_TOKEN,
        SINK_BATCH_MAX_WAIT_MS: '200',
        ...env,
      },
      path.join(logDir, 'faults.log'),
    );
    for (const service of SERVICES) cluster.startService(service);
    await cluster.ready();
    return cluster;
  }

  /** A line in the suite's log, beside the services' own. */
  note(line: string): void {
    appendFileSync(this.logFile, `\n${new Date().toISOString()} [suite] ${line}\n`);
  }

  /** `journey <args>` on this cluster (its settings, `env` laid over), its log in the suite's. */
  journey(args: readonly string[], label: string, env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [JOURNEY, ...args], { env: { ...this.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => {
      appendFileSync(this.logFile, chunk.toString().replace(/^(?=.)/gm, `[${label}] `));
    });
    return child;
  }

  startService(service: ServiceName): void {
    const child = this.journey(['run', service], service);
    child.once('exit', (code, signal) => {
      if (this.children.get(service) === child) this.unexpectedExits.push(`${service} exited (code ${String(code)}, ${String(signal)})`);
    });
    this.children.set(service, child);
  }

  /** Ends a service — SIGKILL as a crash does, SIGTERM as an operator does (it finishes what it holds) — and waits until it has exited. */
  async endService(service: ServiceName, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.children.get(service);
    this.children.delete(service);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await gone;
  }

  /** The collector ready and the sink's query endpoint answering. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const answers = (url: string) =>
      fetch(url).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    const giveUpIf = () => (this.unexpectedExits.length > 0 ? this.unexpectedExits.join('; ') : undefined);
    await pollUntil(() => answers(`${this.collectorUrl}/readyz`), { timeoutMs, what: 'the collector', giveUpIf });
    await pollUntil(() => answers(`${this.queryUrl}/ping`), { timeoutMs, what: "the sink's query endpoint", giveUpIf });
  }

  async stop(): Promise<void> {
    const children = [...this.children.entries()];
    this.children.clear();
    await Promise.all(
      children.map(async ([, child]) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await gone;
        clearTimeout(timer);
      }),
    );
    await this.stack.reset();
  }
}
