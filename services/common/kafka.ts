/**
 * The Kafka adapter every service shares: clients built from validated settings, topics ensured,
 * producers (idempotent, transactional, partitioned as the processor's keys are), commits and reads
 * to the end. Kafka's quirks are answered here once, so no service meets them itself.
 */
import {
  AssignerProtocol,
  Kafka,
  logLevel,
  Partitioners,
  type ICustomPartitioner,
  type KafkaConfig,
  type logCreator,
  type Message,
  type PartitionAssigner,
  type Producer,
  type SASLOptions,
  type TopicMessages,
} from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { withinDeadline } from './poll.ts';
import { retryWithBackoff } from './retry.ts';

const toPino = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
  [logLevel.NOTHING]: 'silent',
} as const;

/**
 * The messages of the Kafka protocol errors kafkajs retries by itself ("The coordinator is
 * loading…", "The group coordinator is not available" while a broker starts). kafkajs logs each
 * such response at ERROR although it retries it; a retry that finally fails surfaces as an error
 * of its own. The table is kafkajs's, which it does not export.
 */
const RETRIABLE_PROTOCOL_MESSAGES: ReadonlySet<string> = new Set(
  (
    createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: readonly { message: string; retriable: boolean }[] }
  ).errorCodes
    .filter((error) => error.retriable)
    .map((error) => error.message),
);

/** kafkajs logs through our pino logger, one structured line per kafkajs event; retried responses are not errors. */
export function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const retried = level === logLevel.ERROR && typeof extra.error === 'string' && RETRIABLE_PROTOCOL_MESSAGES.has(extra.error);
      const method = retried ? 'debug' : toPino[level];
      if (method !== 'silent') logger[method]({ kafkajs: namespace, ...extra }, message);
    };
}

export function createKafka(kafka: Config['kafka'], logger: Logger | undefined, overrides: Partial<KafkaConfig> = {}): Kafka {
  const sasl: SASLOptions | undefined = kafka.sasl && {
    mechanism: kafka.sasl.mechanism,
    username: kafka.sasl.username,
    password: kafka.sasl.password,
  };
  return new Kafka({
    clientId: kafka.clientId,
    brokers: kafka.brokers,
    ssl: kafka.ssl,
    ...(sasl && { sasl }),
    ...(logger ? { logCreator: pinoLogCreator(logger), logLevel: logLevel.INFO } : { logLevel: logLevel.NOTHING }),
    ...overrides,
  });
}

export interface TopicToEnsure {
  readonly name: string;
  readonly compacted: boolean;
}

/** A Kafka error kafkajs marks as passing: a topic not yet in the metadata, a coordinator or leader not ready yet. */
export const isRetriable = (error: unknown) => (error as { retriable?: unknown }).retriable === true;

/**
 * Creates the topics that do not exist yet; existing ones are left as they are. Returns once every
 * partition has a leader: kafkajs waits for "leader not available" only, so a broker that does not
 * know a just-created partition yet is waited for here.
 */
export async function ensureTopics(kafka: Kafka, settings: Config['kafka'], topics: readonly TopicToEnsure[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: settings.topicPartitions,
          replicationFactor: settings.replicationFactor,
          configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      })
      .catch(async (error: unknown) => {
        if (!isRetriable(error)) throw error;
        await retryWithBackoff(
          async () => {
            const { topics: known } = await admin.fetchTopicMetadata({ topics: missing.map((t) => t.name) });
            if (known.some((t) => t.partitions.some((p) => p.leader < 0)))
              throw Object.assign(new Error('topic leaders not elected yet'), { retriable: true });
          },
          { isRetryable: isRetriable, firstBackoffMs: 100, maxBackoffMs: 1_000, attempts: 30 },
        );
      });
  } finally {
    await admin.disconnect();
  }
}

/**
 * A group assignment that gives every partition to one member (the first by member id) and none
 * to the others: for a consumer that must see a whole topic at once (the alerting service adds up
 * KPI records that land on every partition). The others stand by; when the active one leaves, the
 * group rebalances and another takes over.
 */
export const singleActiveAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'JourneylineSingleActive',
  version: 0,
  assign({ members, topics }) {
    const active = members.map((member) => member.memberId).sort()[0];
    if (active === undefined) return Promise.resolve([]);
    const assignment = Object.fromEntries(
      topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((partition) => partition.partitionId)]),
    );
    return Promise.resolve(
      members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: memberId === active ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'JourneylineSingleActive',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});

/**
 * An idempotent producer (acks=all, one request in flight: retries neither duplicate nor reorder)
 * with the Java client's murmur2 partitioner, so keys land where JVM producers would put them.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Right after a transaction commits, the broker answers the producer's next AddPartitionsToTxn
 * with CONCURRENT_TRANSACTIONS until the commit markers are written (a few ms). kafkajs retries
 * that as any retriable error, first after its default 300 ms, so a producer committing back to back
 * (a busy partition) spent ~330 ms per transaction; the Java client retries this one after 20 ms.
 * `npm run bench:transactions`, back to back on the native stack: 321 ms p50 per transaction with
 * kafkajs's default, 24 ms with this.
 */
export const TRANSACTION_RETRY = { initialRetryTime: 10, retries: Number.MAX_SAFE_INTEGER } as const;

/**
 * A transactional producer (`transactionalId`; its connect fences any earlier producer of that
 * id), idempotent as transactions require, retrying back-to-back transactions promptly.
 */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string, createPartitioner: ICustomPartitioner): Producer {
  return kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: TRANSACTION_RETRY,
    createPartitioner,
  });
}

/**
 * Where a keyed message goes among `partitionCount` partitions under the Java client's murmur2
 * partitioner (kafkajs's default, our producers'): where a key's records are, or belong. The
 * partition list is made once, for a caller that places every message of a batch.
 */
export function keyPartitioner(partitionCount: number): (key: string) => number {
  const murmur2 = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
    partitionId,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [],
    isr: [],
  }));
  return (key) => murmur2({ topic: '', partitionMetadata, message: { key, value: null } });
}

/**
 * The Java client's murmur2 partitioner, except that on the named topics a message is placed by
 * part of its key (`routeBy(key)`), not the whole key. A compacted topic whose key must be unique
 * per record can so still co-locate records that belong together: same route, same partition.
 */
export function routingPartitioner(routes: Readonly<Record<string, (key: string) => string>>): ICustomPartitioner {
  return () => {
    const murmur2 = Partitioners.DefaultPartitioner();
    return (args) => {
      const routeBy = routes[args.topic];
      const key = args.message.key;
      if (routeBy === undefined || key === null || key === undefined) return murmur2(args);
      return murmur2({ ...args, message: { ...args.message, key: routeBy(key.toString()) } });
    };
  };
}

/**
 * The most bytes one produce request carries per chunk. Kafka bounds a record batch (all of one
 * request's messages for one partition) by the topic's max.message.bytes, 1 MiB by default, and
 * kafkajs sends everything for a partition as one batch; a transaction's outputs easily outgrow
 * its input, so they go out in chunks that stay under the limit whatever the key spread.
 */
export const MAX_REQUEST_CHUNK_BYTES = 768 * 1024;
/** Kafka's per-record overhead (varints, attributes, header framing), rounded up. */
const RECORD_OVERHEAD_BYTES = 64;

const sizeOf = (value: Message['key'] | Message['value']): number => (value === null || value === undefined ? 0 : Buffer.byteLength(value));

function bytesOf(message: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + sizeOf(message.key) + sizeOf(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += sizeOf(v);
  }
  return bytes;
}

/**
 * Splits topic messages into consecutive chunks of at most `maxBytes` each (a message larger than
 * that travels alone, and the broker's own limit decides). Order within a topic is kept.
 */
export function chunkTopicMessages(topicMessages: readonly TopicMessages[], maxBytes = MAX_REQUEST_CHUNK_BYTES): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let chunk: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size = bytesOf(message);
      if (bytes + size > maxBytes && bytes > 0) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      const last = chunk.at(-1);
      if (last?.topic === topic) last.messages.push(message);
      else chunk.push({ topic, messages: [message] });
      bytes += size;
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * One transaction of a consume-transform-produce loop: every output, in chunks under the broker's
 * batch limit, then the consumed offset (if `input` names one); all of it or, after an abort, none.
 */
export async function commitBatch(
  producer: Producer,
  groupId: string,
  input: { topic: string; partition: number; next: string } | undefined,
  outputs: readonly TopicMessages[],
): Promise<void> {
  const tx = await producer.transaction();
  try {
    for (const chunk of chunkTopicMessages(outputs)) await tx.sendBatch({ topicMessages: chunk, acks: -1 });
    if (input !== undefined)
      await tx.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: input.topic, partitions: [{ partition: input.partition, offset: input.next }] }],
      });
    await tx.commit();
  } catch (error: unknown) {
    await tx.abort().catch(() => undefined);
    throw error;
  }
}

/**
 * Each partition of a topic with its first offset (low) and its end (high). The end is `stable` by
 * default: the last stable offset, as far as a read_committed consumer can read now. `written` is
 * the high watermark: everything written, the records of transactions still open included, and so
 * those of transactions committed behind them (a committed transaction's records can lie past the
 * stable offset). Right after a topic is created a broker may not lead its partitions yet ("not the
 * leader for that topic-partition"): retriable errors like that are retried for a while.
 */
export async function topicOffsets(
  kafka: Kafka,
  topic: string,
  end: 'stable' | 'written' = 'stable',
): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  // readUncommitted: patches/kafkajs+2.2.4.patch (kafkajs's admin always asked for the stable offset).
  const admin = kafka.admin({ readUncommitted: end === 'written' });
  await admin.connect();
  try {
    const offsets = await retryWithBackoff(() => admin.fetchTopicOffsets(topic), {
      isRetryable: isRetriable,
      firstBackoffMs: 100,
      maxBackoffMs: 2_000,
      attempts: 10,
    });
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads the given partitions of a topic from their start to the end they had when called, and
 * hands each record over (read_committed: records of aborted transactions never appear). Ends
 * are judged by kafkajs's batch-end instrumentation, which also fires for batches that hold only
 * transaction markers; `eachBatch` alone never sees those and would wait forever at a tail marker.
 */
export async function readPartitionsToEnd(
  kafka: Kafka,
  topic: string,
  partitions: readonly number[],
  onRecord: (partition: number, key: string, value: Buffer | null) => void | Promise<void>,
  timeoutMs: number,
): Promise<number> {
  const ends = new Map<number, bigint>();
  for (const p of await topicOffsets(kafka, topic)) {
    if (partitions.includes(p.partition) && p.high > p.low) ends.set(p.partition, p.high);
  }
  if (ends.size === 0) return 0;

  const consumer = kafka.consumer({ groupId: `${topic}.restore.${randomUUID()}`, readUncommitted: false });
  let records = 0;
  const done = new Set<number>();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) >= end - 1n) {
      done.add(payload.partition);
      if (done.size === ends.size) finish();
    }
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (ends.has(batch.partition) && !done.has(batch.partition)) {
          for (const message of batch.messages) {
            await onRecord(batch.partition, message.key?.toString() ?? '', message.value);
            records++;
          }
        }
      },
    });
    await withinDeadline(finished, timeoutMs, `reading ${topic} partitions ${[...ends.keys()].join(',')} to their end`);
    return records;
  } finally {
    await consumer.disconnect();
  }
}
