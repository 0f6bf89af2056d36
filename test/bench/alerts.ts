/**
 * The alerting detector over a long history: `npm run bench:alerts [-- --segments 100 --days 120]`.
 *
 * Puts the KPI records of `segments` × `days` × 6 processor partitions on segment-kpis (as the processor
 * would: JSON, placed by segment|day), then measures (1) a first run of the detector to caught-up
 * (restore of the whole topic, then the same records consumed again, every segment evaluated) and
 * (2) a restart: the take-over alone, the time a failover costs, which grows with the topic's
 * history (it is compacted, but keyed by day). RSS is sampled in this process.
 */
import { parseArgs } from 'node:util';
import { routingPartitioner, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { encodersFor } from '../helpers/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { alertingGroupOf, runAlerting } from '../../services/alerts/alerting.ts';
import { dayName, dayNumber } from '../../schemas/days.ts';
import { ALL_SEGMENTS } from '../../schemas/event-contract.ts';
import { segmentKpiKey, segmentKpiRoute, type SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { seeded } from '../../services/generator/traffic.ts';
import { caughtUp } from '../helpers/streams.ts';
import { runBench } from './harness.ts';

const { values } = parseArgs({ options: { segments: { type: 'string', default: '100' }, days: { type: 'string', default: '120' } } });
const SEGMENTS = Number(values.segments);
const DAYS = Number(values.days);
const PARTITIONS = 6;
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

function kpiRecord(segment: string, day: string, partition: number, random: () => number): SegmentKpiRecord {
  const n = (max: number) => Math.floor(random() * max);
  return {
    segment,
    day,
    time_zone: 'UTC',
    partition,
    revision: 1,
    counts: {
      revenueMinor: String(n(10_000_000)),
      visitors: n(500),
      sessions: n(700),
      pageViews: n(3000),
      orders: n(40),
      npsPromoters: n(20),
      npsPassives: n(10),
      npsDetractors: n(6),
      csatSumMilli: n(200) * 1000,
      csatResponses: n(50),
      csatSatisfied: n(40),
      cesSumMilli: n(100) * 1000,
      cesResponses: n(40),
      positiveComments: n(10),
      neutralComments: n(10),
      negativeComments: n(4),
    },
    transitions_to: { discovery: n(50), conversion: n(10) },
    revenue_by_currency: { EUR: '1234.50' },
    orders_by_currency: { EUR: 20 },
    social_by_network: {},
    stage_counts: { discovery: n(900), consideration: n(300), conversion: n(100), ongoing_engagement: n(200) },
    dormant_customers: n(30),
    newly_dormant_customers: n(3),
    rolling: {
      '1': { returningVisitors: n(100), previousVisitors: 120 },
      '7': {
        visitors: n(2000),
        sessions: n(3000),
        timedSessions: n(2000),
        buyers: n(200),
        repeatBuyers: n(50),
        returningVisitors: n(500),
        previousVisitors: 600,
      },
      '30': {
        visitors: n(6000),
        sessions: n(9000),
        timedSessions: n(6000),
        buyers: n(600),
        repeatBuyers: n(150),
        returningVisitors: n(2000),
        previousVisitors: 2400,
      },
    },
    day_reached: true,
  };
}

runBench(async ({ config }) => {
  const kafka = createKafka(config.kafka, undefined);
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, Object.values(topics));
  const registry = createRegistry(config.registry);
  const encode = await encodersFor(registry, topics, 'segmentKpis');
  const random = seeded(11);
  const first = dayNumber('2026-01-01');
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: routingPartitioner({ [topics.segmentKpis.name]: segmentKpiRoute }),
  });
  await producer.connect();
  const began = performance.now();
  let records = 0;
  for (let d = 0; d < DAYS; d++) {
    const day = dayName(first + d);
    const messages = [];
    for (const segment of [ALL_SEGMENTS, ...Array.from({ length: SEGMENTS }, (_, s) => `segment-${String(s)}`)])
      for (let p = 0; p < PARTITIONS; p++)
        messages.push({ key: segmentKpiKey(segment, day, p), value: encode.segmentKpis(kpiRecord(segment, day, p, random)) });
    await producer.send({ topic: topics.segmentKpis.name, messages, acks: -1 });
    records += messages.length;
  }
  await producer.disconnect();
  const produceSeconds = (performance.now() - began) / 1000;

  const logger = createLogger('warn');
  const rssBefore = process.memoryUsage().rss;
  const firstRun = performance.now();
  let detector = await runAlerting({ kafka, registry, config, logger });
  await caughtUp(kafka, alertingGroupOf(config), [topics.segmentKpis.name], 600_000, 500);
  const firstSeconds = (performance.now() - firstRun) / 1000;
  const rssAfterFirst = process.memoryUsage().rss;
  await detector.stop();

  // A restart: take-over happens on the first batch, so one new KPI record brings it on.
  detector = await runAlerting({ kafka, registry, config, logger });
  const restart = performance.now();
  const nudge = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: routingPartitioner({ [topics.segmentKpis.name]: segmentKpiRoute }),
  });
  await nudge.connect();
  const lastDay = dayName(first + DAYS - 1);
  await nudge.send({
    topic: topics.segmentKpis.name,
    messages: [
      {
        key: segmentKpiKey('segment-0', lastDay, 0),
        value: encode.segmentKpis({ ...kpiRecord('segment-0', lastDay, 0, random), revision: 2 }),
      },
    ],
    acks: -1,
  });
  await nudge.disconnect();
  await caughtUp(kafka, alertingGroupOf(config), [topics.segmentKpis.name], 600_000, 200);
  const restartSeconds = (performance.now() - restart) / 1000;
  await detector.stop();

  return {
    workload: {
      segments: SEGMENTS + 1,
      days: DAYS,
      processorPartitions: PARTITIONS,
      kpiRecords: records,
      produceSeconds: Number(produceSeconds.toFixed(1)),
    },
    firstRun: { seconds: Number(firstSeconds.toFixed(1)), sharesPerSecond: Math.round(records / firstSeconds) },
    restartToCaughtUp: { seconds: Number(restartSeconds.toFixed(1)), sharesPerSecond: Math.round(records / restartSeconds) },
    rssMiB: { before: mib(rssBefore), afterFirstRun: mib(rssAfterFirst) },
  };
});
