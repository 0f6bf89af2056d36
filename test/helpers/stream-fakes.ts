/**
 * Stand-ins for kafkajs's consumer and transactional producer, for the runner's and the
 * deliveries' specs: they record what is asked of them and let a spec hand batches and group
 * events in, as kafkajs would. Never used outside unit tests (no broker is faked for integration).
 */
import type { ConsumerRunConfig, EachBatchPayload, KafkaMessage, Producer, TopicMessages } from 'kafkajs';
import { createLogger, type Logger } from '../../services/common/logger.ts';
import type { StreamConsumer } from '../../services/common/stream-runner.ts';

export const silent: Logger = createLogger('silent');

export const message = (offset: number, value: string | null, headers?: Record<string, string>): KafkaMessage =>
  ({
    key: Buffer.from(`k${offset}`),
    value: value === null ? null : Buffer.from(value),
    offset: String(offset),
    timestamp: '1700000000000',
    attributes: 0,
    size: 0,
    ...(headers !== undefined && { headers }),
  }) as KafkaMessage;

type Listener = (event: { payload: Record<string, unknown> }) => void;

const EVENTS = { CRASH: 'crash', GROUP_JOIN: 'group_join', END_BATCH_PROCESS: 'end_batch_process' } as const;

export class FakeConsumer {
  readonly events = EVENTS;
  readonly calls: string[] = [];
  readonly commits: { topic: string; partition: number; offset: string; metadata?: string | null }[] = [];
  readonly paused: string[][] = [];
  readonly resumed: string[][] = [];
  disconnectError: Error | undefined;
  private readonly listeners = new Map<string, Listener[]>();
  private config: ConsumerRunConfig | undefined;

  get runConfig(): ConsumerRunConfig | undefined {
    return this.config;
  }

  on(name: string, listener: Listener): () => void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return () => undefined;
  }

  emit(name: keyof typeof EVENTS, payload: Record<string, unknown>): void {
    for (const listener of this.listeners.get(EVENTS[name]) ?? []) listener({ payload });
  }

  connect(): Promise<void> {
    this.calls.push('connect');
    return Promise.resolve();
  }

  subscribe(subscription: { topics: string[]; fromBeginning: boolean }): Promise<void> {
    this.calls.push(`subscribe ${subscription.topics.join(',')} fromBeginning=${String(subscription.fromBeginning)}`);
    return Promise.resolve();
  }

  run(config: ConsumerRunConfig): Promise<void> {
    this.calls.push('run');
    this.config = config;
    return Promise.resolve();
  }

  commitOffsets(offsets: { topic: string; partition: number; offset: string; metadata?: string | null }[]): Promise<void> {
    this.commits.push(...offsets);
    return Promise.resolve();
  }

  pause(topics: { topic: string }[]): void {
    this.paused.push(topics.map((t) => t.topic));
  }

  resume(topics: { topic: string }[]): void {
    this.resumed.push(topics.map((t) => t.topic));
  }

  disconnect(): Promise<void> {
    this.calls.push('disconnect');
    return this.disconnectError === undefined ? Promise.resolve() : Promise.reject(this.disconnectError);
  }

  /** Hands a fetch to eachBatch as kafkajs would; `lastOffset` past the last message when the fetch held markers after it. */
  async deliver(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
    options: { lastOffset?: string; stale?: boolean } = {},
  ): Promise<{ resolved: string[]; heartbeats: number }> {
    const resolved: string[] = [];
    let heartbeats = 0;
    const payload = {
      batch: {
        topic,
        partition,
        messages: [...messages],
        lastOffset: () => options.lastOffset ?? messages.at(-1)?.offset ?? '-1',
      },
      resolveOffset: (offset: string) => {
        resolved.push(offset);
      },
      heartbeat: () => {
        heartbeats++;
        return Promise.resolve();
      },
      isStale: () => options.stale ?? false,
      isRunning: () => true,
    } as unknown as EachBatchPayload;
    const eachBatch = this.config?.eachBatch;
    if (eachBatch === undefined) throw new Error('the consumer is not running');
    await eachBatch(payload);
    return { resolved, heartbeats };
  }

  asConsumer(): StreamConsumer {
    return this as unknown as StreamConsumer;
  }
}

/** A transactional producer that records its transactions; `failCommits` of them fail at commit. */
export class FakeProducer {
  readonly transactions: { sent: TopicMessages[]; offsets: unknown[]; outcome: 'open' | 'committed' | 'aborted' }[] = [];
  readonly calls: string[] = [];
  failCommits = 0;

  connect(): Promise<void> {
    this.calls.push('connect');
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.calls.push('disconnect');
    return Promise.resolve();
  }

  sendBatch(batch: { topicMessages: TopicMessages[] }): Promise<void> {
    this.calls.push(`send ${batch.topicMessages.map((t) => `${t.topic}:${String(t.messages.length)}`).join(',')}`);
    return Promise.resolve();
  }

  transaction(): Promise<unknown> {
    const record = { sent: [] as TopicMessages[], offsets: [] as unknown[], outcome: 'open' as 'open' | 'committed' | 'aborted' };
    this.transactions.push(record);
    return Promise.resolve({
      sendBatch: (batch: { topicMessages: TopicMessages[] }) => {
        record.sent.push(...batch.topicMessages);
        return Promise.resolve();
      },
      sendOffsets: (offsets: unknown) => {
        record.offsets.push(offsets);
        return Promise.resolve();
      },
      commit: () => {
        if (this.failCommits > 0) {
          this.failCommits--;
          return Promise.reject(new Error('commit refused'));
        }
        record.outcome = 'committed';
        return Promise.resolve();
      },
      abort: () => {
        record.outcome = 'aborted';
        return Promise.resolve();
      },
    });
  }

  asProducer(): Producer {
    return this as unknown as Producer;
  }
}
