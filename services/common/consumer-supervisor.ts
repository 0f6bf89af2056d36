/**
 * Keeps a kafkajs consumer consuming through transient faults. kafkajs restarts a consumer after a
 * fault it calls retriable, but gives up for good on some a broker restart causes (the group
 * coordinator not found, retries exhausted): the consumer then consumes nothing while its process
 * runs on. The supervisor starts it again (connect, run with the same settings; its subscription
 * stays) with growing pauses, and declares it dead only on a permanent fault, or once Kafka was
 * unreachable longer than the outage tolerance — then naming the cause. The outage ends when the
 * consumer joins its group again.
 */
import type { Consumer, ConsumerRunConfig, ConsumerSubscribeTopics } from 'kafkajs';
import type { Logger } from './logger.ts';
import { isTransientFault, rootMessageOf } from './transient-faults.ts';

/** The part of a kafkajs consumer the supervisor uses. */
export type SupervisedConsumer = Pick<Consumer, 'connect' | 'run' | 'on' | 'events'>;

export interface SupervisorOptions {
  /** Who the consumer is in logs and in the cause of death, e.g. `processor`. */
  readonly name: string;
  readonly logger: Logger;
  /** How long Kafka may be unreachable before the consumer is given up (KAFKA_OUTAGE_TOLERANCE_S). */
  readonly outageToleranceMs: number;
  readonly now?: () => number;
  /** First pause before a restart of ours; it doubles up to `maxBackoffMs`. */
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export class ConsumerSupervisor {
  /** Resolves with the cause once the consumer is given up: its service is dead and must say so. */
  readonly died: Promise<Error>;
  private declareDead!: (error: Error) => void;
  private readonly consumer: SupervisedConsumer;
  private readonly options: SupervisorOptions;
  private readonly now: () => number;
  private readonly firstBackoffMs: number;
  private runConfig: ConsumerRunConfig | undefined;
  private outageSince: number | undefined;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(consumer: SupervisedConsumer, options: SupervisorOptions) {
    this.consumer = consumer;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.firstBackoffMs = options.firstBackoffMs ?? 1_000;
    this.backoffMs = this.firstBackoffMs;
    this.died = new Promise((resolve) => {
      this.declareDead = resolve;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.crashed(payload.error, payload.restart);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.recovered();
    });
  }

  /** Runs the consumer (connected and subscribed already); kept running until `stop`. */
  async run(config: ConsumerRunConfig): Promise<void> {
    this.runConfig = config;
    await this.consumer.run(config);
  }

  /** Before the consumer is disconnected on purpose: no restart after this. */
  stop(): void {
    this.ended = true;
    clearTimeout(this.restartTimer);
  }

  /** How long Kafka has been unreachable for this consumer (0 when it is not). */
  outageMs(): number {
    return this.outageSince === undefined ? 0 : this.now() - this.outageSince;
  }

  private recovered(): void {
    if (this.outageSince !== undefined) {
      this.options.logger.info({ event: `${this.options.name}.kafka_recovered`, outage_ms: this.outageMs() }, 'consuming again');
    }
    this.outageSince = undefined;
    this.backoffMs = this.firstBackoffMs;
  }

  /** kafkajs crashed the consumer; it restarts it itself when `restarting`. */
  private crashed(error: Error, restarting: boolean): void {
    if (this.ended) return;
    const { name, logger, outageToleranceMs } = this.options;
    this.outageSince ??= this.now();
    const outage = this.outageMs();
    // kafkajs restarts after what it deems retriable; what it gives up on is ours to judge.
    if (!restarting && !isTransientFault(error)) {
      this.giveUp(error);
      return;
    }
    if (outage > outageToleranceMs) {
      const seconds = Math.round(outage / 1000);
      this.giveUp(
        new Error(
          `consumer failing for ${seconds} s, longer than KAFKA_OUTAGE_TOLERANCE_S (${outageToleranceMs / 1000} s): ${rootMessageOf(error)}`,
          { cause: error },
        ),
      );
      return;
    }
    logger.warn(
      {
        event: `${name}.kafka_unreachable`,
        outage_ms: outage,
        cause: rootMessageOf(error),
        restarting_in_ms: restarting ? null : this.backoffMs,
      },
      'consumer stopped by a transient fault; waiting it out',
    );
    if (restarting) return;
    this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 10_000);
  }

  private async restart(): Promise<void> {
    if (this.ended || this.runConfig === undefined) return;
    try {
      // kafkajs disconnected the consumer when it gave up on it; its subscription is kept.
      await this.consumer.connect();
      await this.consumer.run(this.runConfig);
    } catch (error: unknown) {
      this.crashed(error instanceof Error ? error : new Error(String(error)), false);
    }
  }

  private giveUp(error: Error): void {
    this.ended = true;
    this.declareDead(error);
  }
}

/**
 * A consumer that reads on its own (no runner: a follower of a whole topic), connected, subscribed
 * and run under a supervisor. `stop` ends the supervision and disconnects.
 */
export async function runSupervised(
  consumer: Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'on' | 'events' | 'disconnect'>,
  subscription: ConsumerSubscribeTopics,
  config: ConsumerRunConfig,
  options: SupervisorOptions,
): Promise<{ readonly died: Promise<Error>; stop(): Promise<void> }> {
  const supervisor = new ConsumerSupervisor(consumer, options);
  const stop = () => {
    supervisor.stop();
    return consumer.disconnect();
  };
  try {
    await consumer.connect();
    await consumer.subscribe(subscription);
    await supervisor.run(config);
  } catch (error: unknown) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { died: supervisor.died, stop };
}
