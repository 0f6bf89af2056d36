/**
 * One thread of a processor run on several (threads.ts): a whole processor of its own, with its
 * own Kafka clients, registry client and logger, started from the configuration the main thread
 * validated. It tells the main thread when it is running and when it died, and stops when asked.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../common/logger.ts';
import { runConfiguredProcessor } from './processor.ts';
import type { FromThread, ProcessorThreadData, ToThread } from './threads.ts';

if (parentPort === null) throw new Error('processor-thread.ts runs as a worker thread of threads.ts');
const port = parentPort;
const tell = (message: FromThread) => {
  port.postMessage(message);
};
const { config, thread, logFormat } = workerData as ProcessorThreadData;
const logger = createLogger(config.logLevel, 'processor', logFormat).child({ thread });
const processor = await runConfiguredProcessor(config, logger);
void processor.died.then((error) => {
  tell({ type: 'died', message: error.message });
});
// The one message a thread is sent.
port.once('message', (_stop: ToThread) => {
  // process.exit ends only this thread (kafkajs's timers would keep it alive a while); its exit
  // code is what the main thread reads.
  processor.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ event: 'processor.stop_failed', err: error });
      process.exit(1);
    },
  );
});
tell({ type: 'started' });
