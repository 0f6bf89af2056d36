/**
 * The detector judges a day only once it has read every KPI record committed before the watermark
 * that completes the day, even when another processor partition's transaction is still open on
 * the same partition of segment-kpis (as a SIGKILLed processor's stays until it is fenced). There,
 * a read_committed consumer can read only to the open transaction's first record, short of the
 * final KPI records committed after it: a cut at that point judged the day on the stale KPI record before them.
 */
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import { dayName, dayNumber } from '../../schemas/days.ts';
import { ALL_SEGMENTS } from '../../schemas/event-contract.ts';
import { segmentKpiKey, type SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { alertingGroupOf, runAlerting } from '../../services/alerts/alerting.ts';
import {
  createIdempotentProducer,
  createKafka,
  createTransactionalProducer,
  ensureTopics,
  topicOffsets,
} from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { testConfig } from '../helpers/config.ts';
import { encodersFor, readRecords } from '../helpers/kafka.ts';
import { kpiRecordWith } from '../helpers/records.ts';
import { caughtUp } from '../helpers/pipeline.ts';

const SEGMENT = 'فروشگاه-شیراز';
const TODAY = dayNumber(new Date().toISOString().slice(0, 10));
/** Twenty steady days, then two the processor first published ahead of its stream time. */
const STEADY_DAYS = 20;
const day = (i: number) => dayName(TODAY - 30 + i);
/** The KPI records' partition of segment-kpis, and the one of the progress that completes their days. */
const SHARES_AT = 0;
const PROGRESS_AT = 1;

/** Processor partition 0's KPI record of one day: `detractors` of 40 NPS answers. */
function kpiRecordFor(segment: string, i: number, detractors: number, revision: number, reached: boolean): SegmentKpiRecord {
  return kpiRecordWith({
    segment,
    day: day(i),
    revision,
    counts: { revenueMinor: '0', npsDetractors: detractors, npsPromoters: 40 - detractors },
    day_reached: reached,
  });
}

describe('the alert detector’s consistent cut', () => {
  it(
    'waits, before judging a day, for its final kpiRecords committed behind another processor partition’s open transaction',
    { timeout: 120_000 },
    async () => {
      const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '2' });
      const kafka = createKafka(config.kafka, undefined);
      const topics = topicsFor(config.topicPrefix);
      await ensureTopics(kafka, config.kafka, Object.values(topics));
      const registry = createRegistry(config.registry);
      const { segmentKpis: encode } = await encodersFor(registry, topics, 'segmentKpis');
      const message = (kpiRecord: SegmentKpiRecord, partition: number) => ({
        key: segmentKpiKey(kpiRecord.segment, kpiRecord.day, kpiRecord.partition),
        value: encode(kpiRecord),
        partition,
      });
      const progress = (i: number, revision: number) => message(kpiRecordFor(ALL_SEGMENTS, i, 4, revision, true), PROGRESS_AT);
      const inTransaction = async (id: string, messages: ReturnType<typeof message>[], end: 'commit' | 'open') => {
        const producer = createTransactionalProducer(kafka, id, Partitioners.DefaultPartitioner);
        await producer.connect();
        const transaction = await producer.transaction();
        await transaction.send({ topic: topics.segmentKpis.name, messages, acks: -1 });
        if (end === 'commit') {
          await transaction.commit();
          await producer.disconnect();
        }
        return { producer, transaction };
      };

      // One processor partition has events (the detector waits for the progress of each that has).
      const events = createIdempotentProducer(kafka);
      await events.connect();
      await events.send({ topic: topics.resolvedEvents.name, messages: [{ key: 'c', value: 'x', partition: 0 }], acks: -1 });
      await events.disconnect();

      // Processor partition 0: twenty steady days (4 of 40 detractors) judged, and days 20 and 21
      // published ahead of its stream time with what they held then (30 of 40, say: a count ahead).
      const steady = Array.from({ length: STEADY_DAYS }, (_, i) => message(kpiRecordFor(SEGMENT, i, 4 + (i % 2), 1, true), SHARES_AT));
      const ahead = [20, 21].map((i) => message(kpiRecordFor(SEGMENT, i, 30, 1, false), SHARES_AT));
      await inTransaction(`${config.topicPrefix}journey.0`, [...steady, ...ahead, progress(STEADY_DAYS, 1)], 'commit');

      const alerting = await runAlerting({ kafka, registry, config, logger: createLogger('warn', 'alerts-under-test') });
      try {
        await caughtUp(kafka, alertingGroupOf(config), [topics.segmentKpis.name], 60_000);
        // Processor partition 1's transaction stays open on the KPI records' partition...
        const open = await inTransaction(
          `${config.topicPrefix}journey.1`,
          [message({ ...kpiRecordFor(SEGMENT, 19, 4, 1, true), partition: 1 }, SHARES_AT)],
          'open',
        );
        // ...while partition 0 commits days 20 and 21 final (steady) with its progress past them.
        const final = [20, 21].map((i) => message(kpiRecordFor(SEGMENT, i, 4, 2, true), SHARES_AT));
        await inTransaction(`${config.topicPrefix}journey.0`, [...final, progress(22, 2)], 'commit');
        const [stable, written] = await Promise.all(
          (['stable', 'written'] as const).map(
            async (end) => (await topicOffsets(kafka, topics.segmentKpis.name, end)).find((o) => o.partition === SHARES_AT)?.high,
          ),
        );
        // The committed final KPI records lie past the stable offset: a read_committed consumer cannot read them yet.
        expect(stable).toBe(BigInt(steady.length + ahead.length + 1));
        expect(written).toBeGreaterThan(BigInt(steady.length + ahead.length + 1 + final.length));

        // The detector has read the progress; a cut at the stable ends would judge days 20 and 21 now.
        await caughtUp(kafka, alertingGroupOf(config), [topics.segmentKpis.name], 60_000);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await open.transaction.abort();
        await open.producer.disconnect();
        await caughtUp(kafka, alertingGroupOf(config), [topics.segmentKpis.name], 60_000);
        await new Promise((resolve) => setTimeout(resolve, 2_000));

        const alerts = (await readRecords<AlertRecord>(kafka, registry, topics.alerts.name, TOPIC_RECORDS.alerts, [0, 1])).flatMap(
          ({ value }) => (value === null ? [] : [value]),
        );
        expect(alerts.map((a) => `${a.signal} ${a.change} ${a.window_day}`)).toEqual([]);
      } finally {
        await alerting.stop();
      }
    },
  );
});
