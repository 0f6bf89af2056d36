/**
 * The delivery of a consumer whose state spans every partition it reads, held by one active
 * instance (the alerting detector: singleActiveAssigner gives it the whole topic). Taking over
 * fences the previous active instance (one transactional.id for the group) and rebuilds the state
 * from topics (`take`); batches and steps between them run one at a time against it. A batch's
 * outputs, if it has any, commit in one transaction without offsets: the state is rebuilt from the
 * topics whatever the offsets say, which kafkajs commits as resolved and only spare a restart
 * re-reading. A failed batch or step drops the state (it ran ahead of what was committed).
 */
import type { Producer, TopicMessages } from 'kafkajs';
import { commitBatch } from './kafka.ts';
import type { Logger } from './logger.ts';
import type { Assignment, Delivery } from './stream-runner.ts';

export class InstanceTransaction<C extends { readonly producer: Producer }> implements Delivery<C> {
  readonly autoCommit = true;
  private active: Promise<C> | undefined;
  /** The latest batch or step between batches: the next waits for it. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly groupId: string;
  private readonly take: () => Promise<C>;
  private readonly logger: Logger;

  /** `take`: fences (its producer's connect) and rebuilds the state; disconnects the producer itself if it fails. */
  constructor(groupId: string, take: () => Promise<C>, logger: Logger) {
    this.groupId = groupId;
    this.take = take;
    this.logger = logger;
  }

  /** The state, if this instance holds it or is taking it. */
  get held(): Promise<C> | undefined {
    return this.active;
  }

  /** A member given no partition stands by: whatever it held goes. */
  assigned(assignment: Assignment): void {
    if ([...assignment.values()].every((partitions) => partitions.size === 0))
      this.release().catch((error: unknown) => {
        this.logger.warn({ event: 'consumer.release_failed', err: error });
      });
  }

  inTurn<R>(_topic: string, _partition: number, work: () => Promise<R>): Promise<R> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  acquire(): Promise<C> {
    if (this.active === undefined) {
      const taking = this.take();
      taking.catch(() => {
        if (this.active === taking) this.active = undefined;
      });
      this.active = taking;
    }
    return this.active;
  }

  async commit(context: C, _batch: unknown, outputs: readonly TopicMessages[]): Promise<void> {
    if (outputs.length > 0) await commitBatch(context.producer, this.groupId, undefined, outputs);
  }

  failed(): Promise<void> {
    return this.release();
  }

  /** Runs `step` in turn with the batches, on the state if this instance holds it; a step that throws drops the state. */
  betweenBatches(step: (context: C) => Promise<void>): Promise<void> {
    const active = this.active;
    if (active === undefined) return Promise.resolve();
    return this.inTurn('', 0, async () => {
      try {
        await step(await active);
      } catch (error: unknown) {
        await this.release();
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    await this.release();
  }

  private async release(): Promise<void> {
    const was = this.active;
    this.active = undefined;
    await (await was?.catch(() => undefined))?.producer.disconnect();
  }
}
