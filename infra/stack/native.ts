/**
 * The native stack, for machines without a Docker engine: Apache Kafka (KRaft, one combined
 * broker+controller) and Apicurio Registry (Confluent-compatible API, H2 file storage) as
 * background JVMs on 127.0.0.1, from Maven Central artifacts cached in infra/.cache.
 * ClickHouse needs no process here: it is embedded (chDB) in whichever process uses it.
 *
 * Contract:
 * - `up` is idempotent: a running, healthy stack is left alone. Ports are checked before any JVM
 *   starts, so a taken port fails at once naming the port and its setting.
 * - Kafka's log and the registry's schemas persist together in the state dir across `down`/`up`,
 *   so `npm start` resumes where it stopped. They are only ever kept or wiped together (`reset`):
 *   messages whose schema ids the registry never issued must not survive.
 * - `down` stops every process carrying this state dir's marker, not only the recorded PIDs, and
 *   fails if any survives.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../services/common/config.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { findJava } from './java.ts';
import { kafkaAnswers, registryAnswers } from './health.ts';
import { checkPortFree, isAlive, markerFor, processesMarkedWith, signal, sleep, spawnDetached, stopProcesses, tail } from './processes.ts';
import type { StackEndpoints } from './endpoints.ts';

const INFRA_DIR = path.resolve(import.meta.dirname, '..');
export const CACHE_DIR = path.join(INFRA_DIR, '.cache');
const POM = path.join(INFRA_DIR, 'pom.xml');
const KAFKA_LIBS = path.join(CACHE_DIR, 'kafka', 'libs');
const APICURIO_DIR = path.join(CACHE_DIR, 'apicurio');
const FETCH_STAMP = path.join(CACHE_DIR, 'fetched-from-pom.sha256');

type StackSettings = Config['stack'];

interface StackState {
  readonly kafka: { readonly pid: number; readonly port: number; readonly controllerPort: number };
  readonly registry: { readonly pid: number; readonly port: number };
  readonly startedAt: string;
}

export type StackComponent = 'kafka' | 'registry';

export interface ComponentStatus {
  readonly name: StackComponent;
  readonly pid: number | undefined;
  readonly alive: boolean;
  readonly healthy: boolean;
  readonly endpoint: string;
  readonly log: string;
}

export class StackError extends Error {
  override readonly name = 'StackError';
}

export class NativeStack {
  readonly settings: StackSettings;
  readonly logDir: string;
  private readonly stateFile: string;
  private readonly lockFile: string;

  constructor(settings: StackSettings) {
    this.settings = settings;
    this.logDir = path.join(settings.dir, 'logs');
    this.stateFile = path.join(settings.dir, 'stack.json');
    this.lockFile = path.join(settings.dir, 'stack.lock');
  }

  endpoints(): StackEndpoints {
    return {
      kafkaBrokers: [`127.0.0.1:${this.settings.kafkaPort}`],
      registryUrl: `http://127.0.0.1:${this.settings.registryPort}/apis/ccompat/v7`,
      clickhouseUrl: undefined,
    };
  }

  /** Makes sure the Maven artifacts are cached; re-fetches when infra/pom.xml changed, saying how far it got every 10 s. */
  async fetch(report: (line: string) => void = () => undefined): Promise<void> {
    const pomHash = createHash('sha256').update(readFileSync(POM)).digest('hex');
    const stamp = existsSync(FETCH_STAMP) ? readFileSync(FETCH_STAMP, 'utf8').trim() : '';
    if (stamp === pomHash && existsSync(path.join(APICURIO_DIR, 'quarkus-run.jar')) && existsSync(KAFKA_LIBS)) return;

    // Old jars beside new ones would put two Kafka versions on one classpath.
    rmSync(path.join(CACHE_DIR, 'kafka'), { recursive: true, force: true });
    rmSync(APICURIO_DIR, { recursive: true, force: true });
    rmSync(path.join(CACHE_DIR, 'markers'), { recursive: true, force: true });
    mkdirSync(CACHE_DIR, { recursive: true });
    const logFile = path.join(CACHE_DIR, 'fetch.log');
    report(`fetching Kafka and Apicurio Registry from Maven Central into ${CACHE_DIR} (once, a minute or two; log: ${logFile})`);
    const log = openSync(logFile, 'w');
    const began = Date.now();
    const progress = setInterval(() => {
      const downloaded = (readFileSync(logFile, 'utf8').match(/^Downloaded from /gm) ?? []).length;
      report(`  still fetching: ${downloaded} artifacts so far (${Math.round((Date.now() - began) / 1000)} s)`);
    }, 10_000);
    let status: number | null;
    try {
      status = await new Promise<number | null>((resolve, reject) => {
        const mvn = spawn('mvn', ['-B', '-f', POM, 'package'], { stdio: ['ignore', log, log] });
        mvn.once('error', (error) => {
          reject(new StackError(`Maven (mvn) is needed to fetch the native stack and could not run: ${error.message}`));
        });
        mvn.once('exit', resolve);
      });
    } finally {
      clearInterval(progress);
      closeSync(log);
    }
    if (status !== 0) {
      throw new StackError(`Maven failed to fetch the native stack (exit ${status ?? 'by signal'}); see ${logFile}:\n${tail(logFile, 20)}`);
    }
    writeFileSync(FETCH_STAMP, `${pomHash}\n`);
  }

  async up(report: (line: string) => void = () => undefined): Promise<{ endpoints: StackEndpoints; started: boolean }> {
    mkdirSync(this.logDir, { recursive: true });
    await this.lock();
    try {
      const running = this.readState();
      if (running !== undefined && isAlive(running.kafka.pid) && isAlive(running.registry.pid)) {
        if (running.kafka.port !== this.settings.kafkaPort || running.registry.port !== this.settings.registryPort) {
          throw new StackError(
            `a stack is already running from ${this.settings.dir} on other ports (Kafka ${running.kafka.port}, ` +
              `registry ${running.registry.port}); run \`npm run stack:down\` first`,
          );
        }
        await this.waitHealthy(running, report);
        return { endpoints: this.endpoints(), started: false };
      }
      // Half a stack, or one that died with the machine: stop what is left, keep the data.
      await this.stopAll();
      if (existsSync(this.kafkaDataDir) !== existsSync(this.registryDataDir)) {
        report('Kafka data without registry data (or the reverse): starting both empty');
        this.wipeData();
      }

      await this.assertPortsFree();
      await this.fetch(report);
      const kafkaJava = this.javaFor('kafka');
      const registryJava = this.javaFor('registry');

      const kafkaPid = this.startKafka(kafkaJava.bin);
      const registryPid = this.startRegistry(registryJava.bin);
      const state: StackState = {
        kafka: { pid: kafkaPid, port: this.settings.kafkaPort, controllerPort: this.settings.kafkaControllerPort },
        registry: { pid: registryPid, port: this.settings.registryPort },
        startedAt: new Date().toISOString(),
      };
      writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
      report(
        `starting Kafka (pid ${kafkaPid}, Java ${kafkaJava.major}) and Apicurio Registry (pid ${registryPid}, Java ${registryJava.major})`,
      );
      try {
        await this.waitHealthy(state, report);
      } catch (error: unknown) {
        await this.stopAll();
        throw error;
      }
      return { endpoints: this.endpoints(), started: true };
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }

  async down(): Promise<{ stopped: number }> {
    mkdirSync(this.settings.dir, { recursive: true });
    await this.lock();
    try {
      return { stopped: await this.stopAll() };
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }

  /** `down`, then forget every topic, message and schema. */
  async reset(): Promise<{ stopped: number }> {
    mkdirSync(this.settings.dir, { recursive: true });
    await this.lock();
    try {
      const stopped = await this.stopAll();
      this.wipeData();
      return { stopped };
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }

  /**
   * For fault suites: signals one component — SIGKILL kills it (wait with `waitGone`), SIGSTOP
   * freezes it and SIGCONT thaws it. `startAgain` brings a killed one back on its data.
   */
  signal(component: StackComponent, sig: NodeJS.Signals): number {
    const pid = this.readState()?.[component].pid;
    if (pid === undefined || !isAlive(pid)) throw new StackError(`${component} is not running`);
    signal(pid, sig);
    return pid;
  }

  async waitGone(pid: number): Promise<void> {
    await pollUntil(() => Promise.resolve(isAlive(pid) ? undefined : true), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `process ${pid} to exit`,
    });
  }

  /** Starts a killed component again on its data (same ports), and waits until the stack answers. */
  async startAgain(component: StackComponent, report: (line: string) => void = () => undefined): Promise<void> {
    const state = this.readState();
    if (state === undefined) throw new StackError('no stack was started from this state dir');
    if (isAlive(state[component].pid)) throw new StackError(`${component} is still running`);
    const java = this.javaFor(component).bin;
    const next: StackState =
      component === 'kafka'
        ? { ...state, kafka: { ...state.kafka, pid: this.startKafka(java) } }
        : { ...state, registry: { ...state.registry, pid: this.startRegistry(java) } };
    writeFileSync(this.stateFile, `${JSON.stringify(next, null, 2)}\n`);
    await this.waitHealthy(next, report);
  }

  private javaFor(component: StackComponent): ReturnType<typeof findJava> {
    return component === 'kafka'
      ? findJava(
          { min: 17, max: 23, purpose: 'Kafka 3.9', variable: 'STACK_KAFKA_JAVA_HOME' },
          this.settings.kafkaJavaHome,
          this.settings.javaHome,
        )
      : findJava(
          { min: 21, purpose: 'Apicurio Registry 3.3', variable: 'STACK_REGISTRY_JAVA_HOME' },
          this.settings.registryJavaHome,
          this.settings.javaHome,
        );
  }

  private get kafkaDataDir(): string {
    return path.join(this.settings.dir, 'kafka-data');
  }

  private get registryDataDir(): string {
    return path.join(this.settings.dir, 'registry-data');
  }

  private wipeData(): void {
    rmSync(this.kafkaDataDir, { recursive: true, force: true });
    rmSync(this.registryDataDir, { recursive: true, force: true });
  }

  async status(): Promise<ComponentStatus[]> {
    const state = this.readState();
    const endpoints = this.endpoints();
    const kafkaPid = state?.kafka.pid;
    const registryPid = state?.registry.pid;
    const kafkaAlive = kafkaPid !== undefined && isAlive(kafkaPid);
    const registryAlive = registryPid !== undefined && isAlive(registryPid);
    return [
      {
        name: 'kafka',
        pid: kafkaPid,
        alive: kafkaAlive,
        healthy: kafkaAlive && (await kafkaAnswers(endpoints.kafkaBrokers).catch(() => false)),
        endpoint: endpoints.kafkaBrokers.join(','),
        log: path.join(this.logDir, 'kafka.log'),
      },
      {
        name: 'registry',
        pid: registryPid,
        alive: registryAlive,
        healthy: registryAlive && (await registryAnswers(endpoints.registryUrl).catch(() => false)),
        endpoint: endpoints.registryUrl,
        log: path.join(this.logDir, 'registry.log'),
      },
    ];
  }

  private readState(): StackState | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as StackState;
    } catch {
      return undefined;
    }
  }

  /** Serialises concurrent `up`/`down` on one state dir (two test runs, say). */
  private async lock(): Promise<void> {
    const deadline = Date.now() + this.settings.startTimeoutMs;
    for (;;) {
      try {
        writeFileSync(this.lockFile, String(process.pid), { flag: 'wx' });
        return;
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(this.lockFile, 'utf8'));
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        rmSync(this.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`another journeyline process (pid ${holder}) holds ${this.lockFile}`);
      await sleep(250);
    }
  }

  private async stopAll(): Promise<number> {
    const state = this.readState();
    const recorded = state === undefined ? [] : [state.kafka.pid, state.registry.pid].filter(isAlive);
    const pids = [...new Set([...recorded, ...processesMarkedWith(this.settings.dir)])];
    await stopProcesses(pids, 30_000);
    const left = processesMarkedWith(this.settings.dir);
    if (left.length > 0) throw new StackError(`stack processes still running after stop: ${left.join(', ')}`);
    rmSync(this.stateFile, { force: true });
    return pids.length;
  }

  private async assertPortsFree(): Promise<void> {
    const wanted = [
      { port: this.settings.kafkaPort, what: 'Kafka', variable: 'STACK_KAFKA_PORT' },
      { port: this.settings.kafkaControllerPort, what: 'the Kafka controller', variable: 'STACK_KAFKA_CONTROLLER_PORT' },
      { port: this.settings.registryPort, what: 'the schema registry', variable: 'STACK_REGISTRY_PORT' },
      {
        port: this.settings.registryManagementPort,
        what: "the schema registry's management interface",
        variable: 'STACK_REGISTRY_MANAGEMENT_PORT',
      },
    ];
    const taken: string[] = [];
    for (const { port, what, variable } of wanted) {
      const check = await checkPortFree(port);
      if (!check.free)
        taken.push(`port ${port} for ${what} is already in use on 127.0.0.1 (${check.reason}); set ${variable} to a free port`);
    }
    if (new Set(wanted.map((w) => w.port)).size !== wanted.length) taken.push('STACK_* ports must all differ');
    if (taken.length > 0) throw new StackError(`cannot start the native stack:\n  ${taken.join('\n  ')}`);
  }

  private startKafka(java: string): number {
    const dir = path.join(this.settings.dir, 'kafka');
    const dataDir = this.kafkaDataDir;
    mkdirSync(dir, { recursive: true });
    const { kafkaPort, kafkaControllerPort } = this.settings;
    const properties = path.join(dir, 'server.properties');
    writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${kafkaControllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${dataDir}`,
        // Topics are created on purpose by the services, with their partitions and cleanup policy.
        'auto.create.topics.enable=false',
        'num.partitions=1',
        // One broker: internal topics (offsets, transactions) must accept replication factor 1.
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=10',
        'group.initial.rebalance.delay.ms=0',
        'log.cleaner.backoff.ms=1000',
        '',
      ].join('\n'),
    );
    const log4j = path.join(dir, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.state.change.logger=WARN',
        'log4j.logger.kafka.log.LogCleaner=WARN',
        '',
      ].join('\n'),
    );
    const classpath = `${KAFKA_LIBS}/*`;
    const logging = `-Dlog4j.configuration=file:${log4j}`;
    // Storage is formatted once; later starts resume its log.
    if (!existsSync(path.join(dataDir, 'meta.properties'))) {
      // Kafka's own cluster-id format: 16 random bytes, base64url without padding.
      const clusterId = randomBytes(16).toString('base64url');
      try {
        execFileSync(
          java,
          [logging, '-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '--config', properties],
          {
            stdio: 'pipe',
            encoding: 'utf8',
          },
        );
      } catch (error: unknown) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new StackError(`formatting Kafka storage in ${dataDir} failed:\n${stdout ?? ''}${stderr ?? ''}`);
      }
    }
    const heap = this.settings.kafkaHeap;
    return spawnDetached(
      java,
      [
        markerFor(this.settings.dir),
        `-Xms${heap}`,
        `-Xmx${heap}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        logging,
        '-cp',
        classpath,
        'kafka.Kafka',
        properties,
      ],
      { cwd: dir, logFile: this.freshLog('kafka.log') },
    );
  }

  private startRegistry(java: string): number {
    mkdirSync(this.registryDataDir, { recursive: true });
    return spawnDetached(
      java,
      [
        markerFor(this.settings.dir),
        `-Xmx${this.settings.registryHeap}`,
        '-XX:+UseSerialGC',
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${this.settings.registryPort}`,
        // Its management interface is always on (a build-time choice) and would take 0.0.0.0:9000.
        '-Dquarkus.management.host=127.0.0.1',
        `-Dquarkus.management.port=${this.settings.registryManagementPort}`,
        '-Dquarkus.http.access-log.enabled=false',
        // Schemas on disk (H2 file) instead of the default in-memory H2, so ids outlive a restart.
        `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(this.registryDataDir, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
        '-jar',
        path.join(APICURIO_DIR, 'quarkus-run.jar'),
      ],
      { cwd: APICURIO_DIR, logFile: this.freshLog('registry.log') },
    );
  }

  private freshLog(name: string): string {
    const file = path.join(this.logDir, name);
    rmSync(file, { force: true });
    return file;
  }

  /** Waits for both JVMs to answer, saying which is up and, every 15 s, what it still waits for. */
  private async waitHealthy(state: StackState, report: (line: string) => void): Promise<void> {
    const endpoints = this.endpoints();
    const kafkaLog = path.join(this.logDir, 'kafka.log');
    const registryLog = path.join(this.logDir, 'registry.log');
    const deadline = this.settings.startTimeoutMs;
    const began = Date.now();
    const seconds = () => Math.round((Date.now() - began) / 1000);
    const waitFor = async (what: string, pid: number, log: string, probe: () => Promise<boolean>) => {
      const progress = setInterval(() => {
        report(`  still waiting for ${what} (${seconds()} s)`);
      }, 15_000);
      try {
        await pollUntil(async () => ((await probe()) ? true : undefined), {
          timeoutMs: deadline,
          intervalMs: 500,
          what,
          giveUpIf: () => (isAlive(pid) ? undefined : `process ${pid} exited`),
        });
        report(`  ${what} answers (${seconds()} s)`);
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        throw new StackError(`${message}\nlog: ${log}\n${tail(log, 25)}`, { cause: error });
      } finally {
        clearInterval(progress);
      }
    };
    await Promise.all([
      waitFor(`Kafka at ${endpoints.kafkaBrokers.join(',')}`, state.kafka.pid, kafkaLog, () => kafkaAnswers(endpoints.kafkaBrokers)),
      waitFor(`the schema registry at ${endpoints.registryUrl}`, state.registry.pid, registryLog, () =>
        registryAnswers(endpoints.registryUrl),
      ),
    ]);
  }
}

/** True when the cached artifacts are present (used to tell a user what `up` will do first). */
export function nativeArtifactsCached(): boolean {
  return existsSync(KAFKA_LIBS) && readdirSync(KAFKA_LIBS).some((f) => f.startsWith('kafka_2.13-'));
}
