/**
 * The alerting service's detector: the processor's segment-KPI records in, churn alerts out,
 * exactly once. The decisions are alert-book.ts's; this is the Kafka around them.
 *
 * Contract:
 * - One active instance. A window's KPI records come from every processor partition and land on the
 *   partition of their (segment, day), and a day is complete only once every processor partition
 *   has passed it, so one member must see the whole topic: the group's assignment
 *   (singleActiveAssigner) gives it all partitions; the others stand by and take over when it leaves.
 * - One transactional producer (transactional.id = the group): taking over fences the previous
 *   owner and aborts its open transaction; only then is the state rebuilt: the KPI records from the
 *   segment-kpis topic itself, read to its end (compacted, latest revision per key: it is its own
 *   changelog), the published alerts from alerts-changelog.
 * - Alert records and the changelog of the pairs they changed commit in one transaction, and only
 *   when there are any (alerts are rare: no transaction per batch). A restart rebuilds the state
 *   from the topics whatever the consumer offsets say, and re-evaluation publishes only what
 *   differs from the changelog: nothing is published twice. Offsets are committed as kafkajs does;
 *   they only spare a restart re-reading what it has just restored.
 * - A day is judged only at a consistent cut of segment-kpis (consistent-cut.ts): never on a
 *   window's KPI record that a committed transaction has already replaced.
 * - Evaluations and transactions run one at a time; a failed one drops the state (it ran ahead of
 *   what was committed) and rethrows: the state is rebuilt from the topics.
 */
import { Partitioners, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import type { Config } from '../common/config.ts';
import type { Decodable } from '../common/avro-decoder.ts';
import type { Decoded } from '../common/step-result.ts';
import { recordDecoder, registerTopicEncoders } from '../common/record-codec.ts';
import { createTransactionalProducer, ensureTopics, readPartitionsToEnd, singleActiveAssigner, topicOffsets } from '../common/kafka.ts';
import { InstanceTransaction } from '../common/instance-transaction.ts';
import type { Logger } from '../common/logger.ts';
import type { RunningService, ServiceDeps } from '../common/running-service.ts';
import { consumerSettings, StreamRunner, type StreamStep } from '../common/stream-runner.ts';
import { alertKey, type AlertRecord } from '../../schemas/alert-records.ts';
import { dayName, dayNumber } from '../../schemas/days.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { topicsFor, type Topics } from '../../schemas/topics.ts';
import {
  absorb,
  evaluateBook,
  forgetKpiRecordsBefore,
  newAlertBook,
  restoreAlerts,
  type AlertBook,
  type BookSettings,
  type ChangelogRecord,
} from './alert-book.ts';
import { ConsistentCut } from './consistent-cut.ts';
import { signalSettingsOf, watermarkOf } from './segment-alerts.ts';

export const alertingGroupOf = (config: Config) => `${config.topicPrefix}alerts`;

const RESTORE_TIMEOUT_MS = 300_000;
/** Days kept beyond the lookback while restoring: the watermark trails the newest day a little. */
const RESTORE_MARGIN_DAYS = 7;

async function partitionsOf(kafka: Kafka, topic: string): Promise<{ all: number[]; withRecords: number }> {
  const offsets = await topicOffsets(kafka, topic);
  return { all: offsets.map((o) => o.partition), withRecords: offsets.filter((o) => o.high > 0n).length };
}

/** What the active instance holds: the fenced producer, the rebuilt state, the settings of its run. */
interface Active {
  readonly producer: Producer;
  readonly book: AlertBook;
  /** How far the book may be judged: released at consistent cuts of segment-kpis. */
  readonly cut: ConsistentCut;
  settings: BookSettings;
  /** When the processor partitions were last counted, and whether every one of them had events then. */
  partitionsReadAt: number;
  everyPartitionHadEvents: boolean;
}

/** Once every processor partition has had events, their count is read again only this often (for added partitions). */
const PARTITIONS_FRESH_MS = 60_000;

/**
 * A processor partition that never had an event publishes no progress, so only those with events
 * decide when a day is complete. While some have none, they are counted again before every
 * evaluation: one that receives its first events must be waited for from then on.
 */
async function countProcessorPartitions(kafka: Kafka, topics: Topics, active: Active): Promise<void> {
  if (active.everyPartitionHadEvents && performance.now() - active.partitionsReadAt < PARTITIONS_FRESH_MS) return;
  const processors = await partitionsOf(kafka, topics.resolvedEvents.name);
  active.settings = { ...active.settings, partitions: Math.max(1, processors.withRecords) };
  active.partitionsReadAt = performance.now();
  active.everyPartitionHadEvents = processors.withRecords === processors.all.length;
}

/** Takes over: fence, then rebuild the state from the two compacted topics. */
type KpiRecordDecoder = (message: Decodable) => Promise<Decoded<SegmentKpiRecord>>;

async function takeOver(deps: ServiceDeps, topics: Topics, groupId: string, decodeKpiRecord: KpiRecordDecoder): Promise<Active> {
  const { kafka, config, logger } = deps;
  const producer = createTransactionalProducer(kafka, groupId, Partitioners.DefaultPartitioner);
  await producer.connect(); // initProducerId: fences the previous active instance
  try {
    const began = performance.now();
    const book = newAlertBook();
    const cut = new ConsistentCut();
    // Read to at least these ends below: the cut starts from them.
    const restoredTo = await topicOffsets(kafka, topics.segmentKpis.name);
    for (const { partition, high } of restoredTo) cut.read(partition, high);
    let unreadable = 0;
    let newestDay = '';
    const kpiRecordsRead = await readPartitionsToEnd(
      kafka,
      topics.segmentKpis.name,
      restoredTo.map((o) => o.partition),
      async (_partition, key, value) => {
        if (value === null) return;
        const parsed = await decodeKpiRecord({ key: Buffer.from(key), value });
        if (parsed.kind !== 'ok') {
          unreadable++; // dead-lettered when it was consumed
          return;
        }
        const kpiRecord = parsed.value;
        absorb(book, kpiRecord);
        // The topic holds every day ever: keep memory to the lookback (and a margin) as it is read.
        if (kpiRecord.day > newestDay) {
          newestDay = kpiRecord.day;
          forgetKpiRecordsBefore(book, dayName(dayNumber(newestDay) - config.alerts.lookbackDays - RESTORE_MARGIN_DAYS));
        }
      },
      RESTORE_TIMEOUT_MS,
    );
    const changelog = await partitionsOf(kafka, topics.alertsChangelog.name);
    await readPartitionsToEnd(
      kafka,
      topics.alertsChangelog.name,
      changelog.all,
      (_partition, key, value) => {
        const problem = restoreAlerts(book, key, value === null ? null : value.toString());
        if (problem !== undefined) logger.warn({ event: 'alerts.changelog_skipped', key, problem });
      },
      RESTORE_TIMEOUT_MS,
    );
    const settings: BookSettings = {
      signals: signalSettingsOf(config.alerts.signals),
      lookbackDays: config.alerts.lookbackDays,
      partitions: 1,
    };
    logger.info({
      event: 'alerts.restored',
      kpiRecords: kpiRecordsRead,
      unreadable,
      segments: book.segments.size,
      alerts: book.records.size,
      ms: Math.round(performance.now() - began),
    });
    return { producer, book, cut, settings, partitionsReadAt: 0, everyPartitionHadEvents: false };
  } catch (error: unknown) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
}

function outputsOf(
  topics: Topics,
  encodeAlert: (record: AlertRecord) => Buffer,
  records: readonly AlertRecord[],
  changelog: readonly ChangelogRecord[],
): TopicMessages[] {
  return [
    { topic: topics.alerts.name, messages: records.map((r) => ({ key: alertKey(r.segment, r.signal), value: encodeAlert(r) })) },
    { topic: topics.alertsChangelog.name, messages: changelog.map((c) => ({ key: c.key, value: c.value })) },
  ].filter((t) => t.messages.length > 0);
}

function logChanges(logger: Logger, records: readonly AlertRecord[]): void {
  for (const r of records) {
    logger.info(
      {
        event: `alerts.${r.change}`,
        alert: r.alert_id,
        segment: r.segment,
        signal: r.signal,
        value: r.value,
        threshold: r.threshold,
        day: r.window_day,
      },
      `${r.segment}: ${r.signal} ${r.change}`,
    );
  }
}

/** Evaluations run every this often too, for a cut that transaction markers alone completed. */
const SETTLE_EVERY_MS = 1_000;

interface DetectorOptions {
  readonly kafka: Kafka;
  readonly topics: Topics;
  readonly decodeKpiRecord: KpiRecordDecoder;
  readonly encodeAlert: (record: AlertRecord) => Buffer;
  readonly delivery: InstanceTransaction<Active>;
  readonly logger: Logger;
}

/** The detector as a stream step: KPI records in, the book judged up to the released cut, alert changes out. */
function createDetectorStep(options: DetectorOptions): StreamStep<SegmentKpiRecord, Active> {
  const { kafka, topics, encodeAlert, delivery, logger } = options;
  // Written, not stable, ends: the transaction that moved the watermark may have committed KPI records
  // behind another processor partition's open transaction (one SIGKILLed, say, open until fenced).
  const endsOfKpiRecords = async () =>
    new Map((await topicOffsets(kafka, topics.segmentKpis.name, 'written')).map((o) => [o.partition, o.high]));
  /** The book judged up to the released watermark: the alert changes, and what they publish. */
  const evaluate = (taken: Active) => {
    const { records, changelog } = evaluateBook(taken.book, taken.settings, new Date().toISOString(), taken.cut.released ?? null);
    // An alert that does not encode throws here: the state, ahead of what was published, is dropped.
    return { records, outputs: outputsOf(topics, encodeAlert, records, changelog) };
  };
  // Evaluations run every second too, for a cut that transaction markers alone completed.
  let settleTimer: NodeJS.Timeout | undefined;
  return {
    name: 'alerts',
    decode: options.decodeKpiRecord,
    async process(batch, taken) {
      await countProcessorPartitions(kafka, topics, taken);
      for (const { value } of batch.decoded) absorb(taken.book, value);
      // Past the transaction markers the fetch held too.
      taken.cut.read(batch.partition, batch.next);
      await taken.cut.observe(watermarkOf(taken.book.progress, taken.settings.partitions), endsOfKpiRecords);
      const { records, outputs } = evaluate(taken);
      return {
        outputs,
        committed: () => {
          logChanges(logger, records);
        },
      };
    },
    assigned(assignment) {
      const assigned = assignment.get(topics.segmentKpis.name)?.size ?? 0;
      logger.info({ event: 'alerts.assigned', active: assigned > 0, partitions: assigned });
      settleTimer ??= setInterval(() => {
        delivery
          .betweenBatches(async (taken) => {
            if (!taken.cut.settle()) return;
            const { records, outputs } = evaluate(taken);
            await delivery.commit(taken, undefined, outputs);
            logChanges(logger, records);
          })
          .catch((error: unknown) => {
            logger.warn({ event: 'alerts.settle_failed', err: error });
          });
      }, SETTLE_EVERY_MS);
    },
    // A fetch of transaction markers (or aborted records) only never reaches a batch, but moves the cut.
    markersOnly(topic, partition, next) {
      if (topic === topics.segmentKpis.name)
        void delivery.held?.then((taken) => {
          taken.cut.read(partition, next);
        });
    },
    stopping() {
      clearInterval(settleTimer);
      return Promise.resolve();
    },
  };
}

export async function runAlerting(deps: ServiceDeps): Promise<RunningService> {
  const { kafka, config, logger } = deps;
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const groupId = alertingGroupOf(config);
  const decodeKpiRecord = recordDecoder(deps.registry, TOPIC_RECORDS.segmentKpis);
  const { alerts: encodeAlert } = await registerTopicEncoders(deps.registry, topics, ['alerts']);
  const delivery = new InstanceTransaction<Active>(groupId, () => takeOver(deps, topics, groupId, decodeKpiRecord), logger);
  const runner = new StreamRunner({
    consumer: kafka.consumer(
      consumerSettings(groupId, config.alerts.sessionTimeoutMs, { partitionAssigners: [singleActiveAssigner], maxWaitTimeInMs: 1_000 }),
    ),
    topics: [topics.segmentKpis.name],
    groupId,
    deadLetterTopic: topics.deadLetter.name,
    step: createDetectorStep({ kafka, topics, decodeKpiRecord, encodeAlert, delivery, logger }),
    delivery,
    logger,
    outageToleranceMs: config.kafka.outageToleranceMs,
  });
  await runner.start();
  return { died: runner.died, stop: () => runner.stop() };
}
