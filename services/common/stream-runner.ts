/**
 * The one consume loop of journeyline: every service that reads a topic (the processor's identity
 * and journey steps, the sink, the alerting detector, the notifier) is a `StreamStep` run by a
 * `StreamRunner` with a `Delivery` that says how its outputs and offsets are committed
 * (deliveries: owned-partitions.ts, instance-transaction.ts, at-least-once.ts). Kafka's quirks are
 * dealt with here once; the steps are the services' own.
 *
 * Contract:
 * - Subscribes from the beginning (a new group reads every record) with kafkajs's resolving off:
 *   a batch's offsets are resolved only once its delivery committed it.
 * - Per batch, in the delivery's turn (a partition's batches, and its steps between batches, one
 *   at a time): the partition's context (state restored, producer fenced), the messages the group
 *   has not committed (a fetch can start below where it stands after a rebalance), each decoded to
 *   a StepResult, then the step. What was set aside — dead letters with their reason and stage,
 *   redirects — is routed here, in one place, and goes out with the step's outputs as the delivery
 *   commits them with the position past the fetch (its transaction markers included).
 * - A batch that throws anywhere from the decode to the commit: the delivery drops the partition's
 *   context (its state ran ahead of what was committed, so it is restored before the next batch),
 *   the failure is logged and rethrown, and kafkajs reads the batch again from the committed offset.
 * - A fetch of transaction markers only never reaches eachBatch (every topic we write in
 *   transactions ends in one): the delivery and the step hear of it, to move past them.
 * - Transient faults (a broker restarting, Kafka unreachable) are waited out: kafkajs reads the
 *   batch again, and a consumer it gave up on is started again (consumer-supervisor.ts). `died`
 *   resolves on a permanent fault or an outage past the tolerance: the service is dead and its
 *   process must say so, naming the cause. `stop()`: the step's `stopping` (still a member of the
 *   group), then the consumer leaves, then the step's `stopped` and the delivery's release.
 */
import type { Consumer, ConsumerConfig, EachBatchPayload, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { deadLetterMessage } from './dead-letter.ts';
import { ConsumerSupervisor } from './consumer-supervisor.ts';
import type { Logger } from './logger.ts';
import type { SetAside, StepResult } from './step-result.ts';

/** The part of a kafkajs consumer the runner uses: a spec passes its own. */
export type StreamConsumer = Pick<
  Consumer,
  'connect' | 'subscribe' | 'run' | 'on' | 'events' | 'commitOffsets' | 'pause' | 'resume' | 'disconnect'
>;

/** The partitions assigned to this member, per topic. */
export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export interface StreamBatch<T> {
  readonly topic: string;
  readonly partition: number;
  /** The fetch's messages the group has not committed yet, in offset order. */
  readonly messages: readonly KafkaMessage[];
  /** Of those, the ones that decoded, in offset order, with their values. */
  readonly decoded: readonly { readonly message: KafkaMessage; readonly value: T }[];
  /** The position past this fetch: its last offset + 1, the transaction markers after its last message included. */
  readonly next: bigint;
}

/** What a step may ask of kafkajs while it works on a batch (a long retry heartbeats, and ends when revoked). */
export interface BatchControl {
  isStale(): boolean;
  isRunning(): boolean;
  heartbeat(): Promise<void>;
}

export interface StepOutcome {
  /** What the batch publishes, per topic: committed with the batch's position. */
  readonly outputs: readonly TopicMessages[];
  /** Messages the step set aside itself (a rule that threw, a message that belongs elsewhere): routed as decoding's. */
  readonly setAside?: readonly { readonly message: KafkaMessage; readonly result: SetAside }[];
  /** Run once the outputs are committed: what the step may only believe then. */
  readonly committed?: () => void;
}

export interface StreamStep<T, C> {
  /** The prefix of the step's log events (e.g. `processor`: `processor.dead_letter`). */
  readonly name: string;
  decode(message: KafkaMessage, topic: string): Promise<StepResult<T>>;
  process(batch: StreamBatch<T>, context: C, control: BatchControl): Promise<StepOutcome>;
  /** The group's assignment changed (this member may hold none). */
  assigned?(assignment: Assignment): void;
  /** A fetch held only transaction markers (or aborted records) up to `next`. */
  markersOnly?(topic: string, partition: number, next: bigint): void;
  /** Before the consumer leaves the group: still a member, it can still publish. */
  stopping?(): Promise<void>;
  /** After the consumer left the group. */
  stopped?(): Promise<void>;
}

/** How a step's outputs and offsets are committed, and what a partition's context is. */
export interface Delivery<C> {
  /** Offsets committed by kafkajs as resolved (a delivery whose state is rebuilt from topics, not from offsets). */
  readonly autoCommit: boolean;
  /** Before the consumer joins: refuses a setup in which it could never commit. */
  prepare?(topics: readonly string[]): Promise<void>;
  assigned(assignment: Assignment): void;
  /** Runs `work` after the partition's earlier batches and steps between them: they share its context. */
  inTurn<R>(topic: string, partition: number, work: () => Promise<R>): Promise<R>;
  /** The partition's context before its batch: taken (fenced, restored) on first use. */
  acquire(topic: string, partition: number): Promise<C>;
  /** Where the group stands in the partition as this instance knows it: messages below were committed. */
  position?(topic: string, partition: number): bigint | undefined;
  /** Sends what decoding set aside before the step runs: a delivery whose step commits offsets itself. */
  sendNow?(outputs: readonly TopicMessages[]): Promise<void>;
  /** The batch's outputs and position, committed; after this the batch is never read again. */
  commit(
    context: C,
    batch: { readonly topic: string; readonly partition: number; readonly next: bigint },
    outputs: readonly TopicMessages[],
  ): Promise<void>;
  /** A batch failed after the step may have changed the partition's context: drop it. */
  failed(topic: string, partition: number): Promise<void>;
  markersOnly?(consumer: StreamConsumer, topic: string, partition: number, next: bigint): void;
  /** Releases every partition's context (after the consumer left). */
  close(): Promise<void>;
}

export interface StreamRunnerOptions<T, C> {
  readonly consumer: StreamConsumer;
  readonly topics: readonly string[];
  readonly groupId: string;
  readonly deadLetterTopic: string;
  readonly step: StreamStep<T, C>;
  readonly delivery: Delivery<C>;
  readonly logger: Logger;
  /** How long Kafka may be unreachable before the step's service is given up (KAFKA_OUTAGE_TOLERANCE_S). */
  readonly outageToleranceMs: number;
  readonly partitionsConsumedConcurrently?: number;
}

/**
 * The consumer settings every group runs with, beside its own: read_committed, and heartbeats
 * often enough that a session survives one lost heartbeat (kafkajs's default is 3 s whatever the session).
 */
export const consumerSettings = (
  groupId: string,
  sessionTimeoutMs: number,
  rest: Omit<ConsumerConfig, 'groupId'> = {},
): ConsumerConfig => ({
  groupId,
  readUncommitted: false,
  sessionTimeout: sessionTimeoutMs,
  heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeoutMs / 5)),
  ...rest,
});

export class StreamRunner<T, C> {
  readonly died: Promise<Error>;
  private readonly options: StreamRunnerOptions<T, C>;
  private readonly supervisor: ConsumerSupervisor;
  private readonly assignment = new Map<string, ReadonlySet<number>>();
  private pauses = 0;

  constructor(options: StreamRunnerOptions<T, C>) {
    this.options = options;
    this.supervisor = new ConsumerSupervisor(options.consumer, {
      name: options.step.name,
      logger: options.logger,
      outageToleranceMs: options.outageToleranceMs,
    });
    this.died = this.supervisor.died;
  }

  /** Joins the group and runs; resolves once the consumer runs. */
  async start(): Promise<void> {
    const { consumer, topics, delivery, step } = this.options;
    await delivery.prepare?.(topics);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assignment.clear();
      for (const topic of topics) this.assignment.set(topic, new Set(payload.memberAssignment[topic] ?? []));
      delivery.assigned(this.assignment);
      step.assigned?.(this.assignment);
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || !topics.includes(payload.topic)) return;
      const next = BigInt(payload.lastOffset) + 1n;
      delivery.markersOnly?.(consumer, payload.topic, payload.partition, next);
      step.markersOnly?.(payload.topic, payload.partition, next);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await this.supervisor.run({
      autoCommit: delivery.autoCommit,
      eachBatchAutoResolve: false,
      ...(this.options.partitionsConsumedConcurrently !== undefined && {
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      }),
      eachBatch: async (payload) => {
        const last = payload.batch.messages.at(-1);
        if (last === undefined || payload.isStale()) return;
        const { topic, partition } = payload.batch;
        await delivery.inTurn(topic, partition, () => this.runBatch(payload));
        await payload.heartbeat();
      },
    });
  }

  /** Stops fetching every topic until as many `resume` calls came (a step waiting out a downstream outage). */
  pause(): void {
    if (this.pauses++ === 0) this.options.consumer.pause(this.options.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    if (--this.pauses === 0) this.options.consumer.resume(this.options.topics.map((topic) => ({ topic })));
  }

  /** Commits `offset` (with `metadata`) for a partition outside a delivery's commit: a step that keeps its own positions. */
  commitOffset(topic: string, partition: number, offset: bigint, metadata: string | null = null): Promise<void> {
    return this.options.consumer.commitOffsets([{ topic, partition, offset: String(offset), metadata }]);
  }

  async stop(): Promise<void> {
    const { consumer, delivery, step } = this.options;
    this.supervisor.stop();
    try {
      await step.stopping?.();
      await consumer.disconnect();
      await step.stopped?.();
    } finally {
      await delivery.close();
    }
  }

  private async runBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { delivery, step, logger } = this.options;
    const { topic, partition } = batch;
    if (payload.isStale()) return;
    const context = await delivery.acquire(topic, partition);
    const from = delivery.position?.(topic, partition);
    const messages = from === undefined ? batch.messages : batch.messages.filter((message) => BigInt(message.offset) >= from);
    // lastOffset() counts the transaction markers the fetch held after the last message.
    const next = BigInt(batch.lastOffset()) + 1n;
    if (messages.length > 0) {
      let committed: (() => void) | undefined;
      try {
        const { decoded, setAside } = await this.decodeAll(topic, messages);
        const early = this.route(topic, partition, setAside);
        if (delivery.sendNow !== undefined && early.length > 0) await delivery.sendNow(early);
        const outcome = await step.process({ topic, partition, messages, decoded, next }, context, payload);
        const routed = this.route(topic, partition, outcome.setAside ?? []);
        const outputs = delivery.sendNow === undefined ? [...outcome.outputs, ...early, ...routed] : [...outcome.outputs, ...routed];
        await delivery.commit(context, { topic, partition, next }, mergeByTopic(outputs));
        committed = outcome.committed;
      } catch (error: unknown) {
        logger.warn({ event: `${step.name}.batch_failed`, topic, partition, err: error }, 'batch not committed; read again');
        await delivery.failed(topic, partition);
        throw error;
      }
      committed?.();
    }
    payload.resolveOffset(batch.lastOffset());
  }

  private async decodeAll(
    topic: string,
    messages: readonly KafkaMessage[],
  ): Promise<{ decoded: { message: KafkaMessage; value: T }[]; setAside: { message: KafkaMessage; result: SetAside }[] }> {
    const decoded: { message: KafkaMessage; value: T }[] = [];
    const setAside: { message: KafkaMessage; result: SetAside }[] = [];
    for (const message of messages) {
      const result = await this.options.step.decode(message, topic);
      if (result.kind === 'ok') decoded.push({ message, value: result.value });
      else setAside.push({ message, result });
    }
    return { decoded, setAside };
  }

  /** What was set aside, as the messages it sends: dead-letter copies (each logged once) and redirects. */
  private route(topic: string, partition: number, setAside: readonly { message: KafkaMessage; result: SetAside }[]): TopicMessages[] {
    const { deadLetterTopic, groupId, step, logger } = this.options;
    const out: TopicMessages[] = [];
    for (const { message, result } of setAside) {
      if (result.kind === 'drop') continue;
      if (result.kind === 'redirect') {
        out.push({ topic: result.topic, messages: [result.message] });
        continue;
      }
      const { reason, stage } = result;
      logger.warn({ event: `${step.name}.dead_letter`, topic, partition, offset: message.offset, stage, reason });
      out.push({
        topic: deadLetterTopic,
        messages: [deadLetterMessage({ ...message, topic, partition }, { reason, stage, consumerGroup: groupId })],
      });
    }
    return out;
  }
}

/**
 * Outputs gathered topic by topic, in the order each topic first appears; a topic's messages keep
 * their order. A topic given once keeps its array (a batch's outputs are large): only one given
 * again is copied.
 */
export function mergeByTopic(outputs: readonly TopicMessages[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  const copied = new Set<string>();
  for (const { topic, messages } of outputs) {
    if (messages.length === 0) continue;
    const gathered = byTopic.get(topic);
    if (gathered === undefined) byTopic.set(topic, messages);
    else if (copied.has(topic)) gathered.push(...messages);
    else {
      byTopic.set(topic, [...gathered, ...messages]);
      copied.add(topic);
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
