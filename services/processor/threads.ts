/**
 * The processor on several threads (PROCESSOR_THREADS). Each thread is a whole processor
 * (processor-thread.ts) and so a member of both steps' consumer groups: Kafka shares the
 * partitions out between the threads exactly as between processes, with the same exactly-once
 * contract (a transactional producer per partition, fencing on every move), and each thread's
 * JavaScript runs on a core of its own. Nothing is shared between threads but the process: a
 * thread that dies makes the processor die, which stops the process (never silently).
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { createKafka } from '../common/kafka.ts';
import { createRegistry } from '../common/registry.ts';
import type { RunningService } from '../common/running-service.ts';
import { prepareProcessorTopics, runConfiguredProcessor } from './processor.ts';

export interface ProcessorThreadData {
  readonly config: Config;
  readonly thread: number;
  /** Resolved here: a thread's stderr is not the terminal's, so it cannot tell for itself. */
  readonly logFormat: 'json' | 'pretty';
}
export type ToThread = { readonly type: 'stop' };
export type FromThread = { readonly type: 'started' } | { readonly type: 'died'; readonly message: string };

/** The processor as configured: on this thread, or on PROCESSOR_THREADS worker threads. */
export const startProcessor = (config: Config, logger: Logger): Promise<RunningService> =>
  config.processor.threads > 1 ? runProcessorThreads(config, logger) : runConfiguredProcessor(config, logger);

interface Thread {
  readonly worker: Worker;
  readonly started: Promise<void>;
  readonly exitCode: Promise<number>;
}

export async function runProcessorThreads(config: Config, logger: Logger): Promise<RunningService> {
  // Once, before the threads: all at once they would race to create the same topics and register
  // the same new subjects, and all but one wait out the registry's race (record-codec.ts) before
  // joining their groups, each join a rebalance of the threads already at work.
  await prepareProcessorTopics({
    kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
    registry: createRegistry(config.registry),
    config,
  });
  const logFormat = config.logFormat === 'auto' ? (process.stderr.isTTY ? 'pretty' : 'json') : config.logFormat;
  let stopping = false;
  let reportDeath: (error: Error) => void = () => undefined;
  const died = new Promise<Error>((resolve) => {
    reportDeath = resolve;
  });
  const start = (thread: number): Thread => {
    const workerData: ProcessorThreadData = { config, thread, logFormat };
    const worker = new Worker(new URL('./processor-thread.ts', import.meta.url), { workerData });
    const exitCode = new Promise<number>((resolve) => worker.once('exit', resolve));
    const started = new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        reject(error);
        if (!stopping) reportDeath(error);
      };
      worker.on('message', (message: FromThread) => {
        if (message.type === 'started') resolve();
        else fail(new Error(`processor thread ${String(thread)} died: ${message.message}`));
      });
      worker.once('error', (error: Error) => {
        fail(new Error(`processor thread ${String(thread)} failed: ${error.message}`, { cause: error }));
      });
      void exitCode.then((code) => {
        fail(new Error(`processor thread ${String(thread)} exited with code ${String(code)}`));
      });
    });
    // A rejection after start is reported through `died`, not here.
    started.catch(() => undefined);
    return { worker, started, exitCode };
  };
  const threads = Array.from({ length: config.processor.threads }, (_, thread) => start(thread));
  const stop = async () => {
    stopping = true;
    for (const { worker } of threads) worker.postMessage({ type: 'stop' } satisfies ToThread);
    const codes = await Promise.all(threads.map((t) => t.exitCode));
    const unclean = codes.flatMap((code, thread) => (code === 0 ? [] : [thread]));
    if (unclean.length > 0) throw new Error(`processor threads ${unclean.join(', ')} did not stop cleanly`);
  };
  try {
    await Promise.all(threads.map((t) => t.started));
  } catch (error: unknown) {
    await stop().catch(() => undefined);
    throw error;
  }
  logger.info({ event: 'processor.threads_started', threads: threads.length });
  return { died, stop };
}
