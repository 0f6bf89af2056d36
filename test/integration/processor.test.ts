/**
 * The processor on the real stack: stages, profiles and KPI windows come out as computed by hand;
 * poison goes to the dead-letter topic and events past the allowed lateness to the late topic;
 * and a processor SIGKILLed mid-stream and restarted publishes exactly what an uninterrupted run
 * publishes — nothing lost, nothing counted twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AssignerProtocol, type Kafka } from 'kafkajs';
import type { Config } from '../../services/common/config.ts';
import { createIdempotentProducer, createKafka, ensureTopics, readPartitionsToEnd, topicOffsets } from '../../services/common/kafka.ts';
import { committedOffsets } from '../helpers/streams.ts';
import { createLogger } from '../../services/common/logger.ts';
import type { TransactionalProducerFactory } from '../../services/common/owned-partitions.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import type { RunningService } from '../../services/common/running-service.ts';
import { processorGroupOf, runProcessor } from '../../services/processor/processor.ts';
import { identityGroupOf } from '../../services/processor/identity/identity-step.ts';
import { EMPTY_COUNTS, kpisOf, type KpiCounts } from '../../services/processor/rules/kpis.ts';
import type { CustomerProfileRecord, SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { DEAD_LETTER_HEADERS, IDENTITY_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { failingBatchCommits } from '../helpers/faults.ts';
import { journeys } from '../helpers/journeys.ts';
import { processorOutputsOf, startProcessorChild } from '../helpers/processor-outputs.ts';
import { consumeN, readRecords } from '../helpers/kafka.ts';
import { processorCaughtUp, exited, produceAll, stopJourney, testLog } from '../helpers/pipeline.ts';
import { sentEvent, type EventFields } from '../helpers/events.ts';
import type { EventType } from '../../schemas/event-contract.ts';

const processedAll = (kafka: Kafka, config: Config, timeoutMs?: number) => processorCaughtUp(kafka, config.topicPrefix, timeoutMs);

/** Sums the partials of every partition into one window's KPIs, as the sink and alerts do. */
function windowKpis(partials: readonly SegmentKpiRecord[], segment: string, day: string) {
  const counts: Record<string, number> = {};
  let revenue = 0n;
  for (const p of partials.filter((x) => x.segment === segment && x.day === day)) {
    for (const [field, value] of Object.entries(p.counts)) {
      if (field === 'revenueMinor') revenue += BigInt(value);
      else counts[field] = (counts[field] ?? 0) + Number(value);
    }
  }
  return kpisOf({ ...EMPTY_COUNTS, ...(counts as Partial<KpiCounts>), revenueMinor: revenue });
}

/** A test's log, streamed to a file as it happens: a test that times out never reaches a catch block. */
describe('journey processor', () => {
  const running: RunningService[] = [];
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  it('publishes stages, profiles and KPI windows as worked out by hand; poison and too-late events go aside', async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(config.topicPrefix);
    const day = '2026-11-10';
    const t = (hhmm: string, d = day) => `${d}T${hhmm}:00Z`;
    const ev = (id: number, customer: string, type: EventType, at: string, properties: Record<string, unknown>, fields: EventFields = {}) =>
      sentEvent(type, { n: id, at, customer_id: customer, segment: 'smb', session_id: `${customer}-1`, ...fields }, properties);
    const pv = (pageType: string, duration: number, clicked = false) => ({
      url: 'https://shop.example/',
      page_type: pageType,
      duration_ms: duration,
      cta_shown: true,
      cta_clicked: clicked,
    });
    await produceAll(config, [
      ev(1, 'ann', 'page_view', t('09:00'), pv('pricing', 10_000)),
      ev(2, 'ann', 'page_view', t('09:01'), pv('product', 20_000, true)),
      ev(3, 'bob', 'page_view', t('09:30'), pv('home', 30_000)),
      ev(4, 'ann', 'purchase', t('10:00'), { order_id: 'o1', amount: '40.00', currency: 'EUR' }),
      ev(5, 'ann', 'survey_response', t('10:05'), { survey_type: 'nps', score: 10, comment: 'Love it!' }),
      ev(6, 'bob', 'survey_response', t('11:00'), { survey_type: 'nps', score: 2, comment: 'Terrible checkout experience' }),
      ev(7, 'cid', 'form_submission', t('12:00'), { form_id: 'demo', form_type: 'demo_request' }),
      ev(4, 'ann', 'purchase', t('10:00'), { order_id: 'o1', amount: '40.00', currency: 'EUR' }), // re-sent: counted once
      // Stream time is per partition; eve's own later visit moves hers 4 days on, so her purchase on
      // the 10th arrives after that window closed (end of day + 2 days of allowed lateness).
      ev(8, 'eve', 'page_view', t('09:00', '2026-11-14'), pv('home', 5_000), { segment: 'consumer' }),
      ev(9, 'eve', 'purchase', t('15:00'), { order_id: 'o2', amount: '10.00', currency: 'EUR' }),
    ]);
    const poison = createIdempotentProducer(kafka);
    await poison.connect();
    await poison.send({ topic: topics.events.name, messages: [{ key: 'zed', value: Buffer.from('not avro') }] });
    await poison.disconnect();

    running.push(await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') }));
    await processedAll(kafka, config);
    const { transitions, profiles, kpis } = await processorOutputsOf(kafka, config);

    expect(
      transitions
        .map((s) => JSON.parse(s) as { customer_id: string; to_stage: string })
        .map((x) => `${x.customer_id}>${x.to_stage}`)
        .sort(),
    ).toEqual([
      'ann>conversion',
      'ann>discovery',
      'ann>ongoing_engagement',
      'bob>discovery',
      'cid>consideration',
      'eve>discovery',
      'eve>ongoing_engagement', // the visit on the 14th is 24 h+ after the purchase on the 10th
    ]);
    const profile = (id: string) => JSON.parse(profiles.find(([k]) => k === id)?.[1] ?? 'null') as CustomerProfileRecord;
    expect(profile('ann')).toMatchObject({ stage: 'ongoing_engagement', purchases: 1, revenue: '40.00', last_nps: 10, page_views: 2 });
    expect(profile('eve')).toMatchObject({ stage: 'ongoing_engagement', purchases: 1, revenue: '10.00', segment: 'consumer' });

    const partials = kpis.map(([, p]) => p as SegmentKpiRecord);
    expect(windowKpis(partials, 'smb', day)).toEqual(
      kpisOf({
        ...EMPTY_COUNTS,
        visitors: 2,
        sessions: 2,
        pageViews: 3,
        sessionPageViews: 3,
        timeOnPageMsSum: 60_000,
        timedPageViews: 3,
        timeOnSiteMsSum: 60_000,
        timedSessions: 2,
        ctaImpressions: 3,
        ctaClicks: 1,
        formsSubmitted: 1,
        orders: 1,
        revenueMinor: 400_000n,
        buyers: 1,
        // ann visited and bought.
        convertedVisitors: 1,
        purchaseCycleDaysSum: 1 / 24,
        firstPurchases: 1,
        npsPromoters: 1,
        npsDetractors: 1,
        positiveComments: 1,
        negativeComments: 1,
      }),
    );
    expect(windowKpis(partials, 'smb', day)).toMatchObject({
      nps: 0,
      conversion_rate_pct: 50,
      ctr_pct: 33.3333,
      aov: '40.00',
      negative_sentiment_pct: 50,
    });

    const partitions = [0, 1, 2];
    const aside = async (topic: string) => {
      const keys: string[] = [];
      await readPartitionsToEnd(kafka, topic, partitions, (_p, key) => void keys.push(key), 30_000);
      return keys;
    };
    expect(await aside(topics.lateEvents.name)).toEqual(['eve']);
    expect(await aside(topics.deadLetter.name)).toEqual(['zed']);

    // All shares of a window sit in one partition of the segment-kpis topic.
    const placed = new Map<string, Set<number>>();
    await readPartitionsToEnd(
      kafka,
      topics.segmentKpis.name,
      partitions,
      (p, key) => {
        const route = key.slice(0, key.lastIndexOf('|'));
        placed.set(route, (placed.get(route) ?? new Set()).add(p));
      },
      30_000,
    );
    expect(placed.size).toBeGreaterThan(0);
    expect([...placed.values()].every((p) => p.size === 1)).toBe(true);
  });

  it('sets aside what its journey step cannot count, with the reason, and counts the events after it', async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1' });
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(config.topicPrefix);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    // What the identity step never writes to resolved-events, as another writer (or a newer build) could.
    const command = (name: string, headers: Record<string, string> = {}) => ({
      key: `cmd-${name}`,
      value: null,
      headers: { [IDENTITY_HEADERS.command]: name, ...headers },
    });
    const poison = createIdempotentProducer(kafka);
    await poison.connect();
    await poison.send({
      topic: topics.resolvedEvents.name,
      acks: -1,
      messages: [
        command('split'),
        command('merge', { [IDENTITY_HEADERS.anonymousKey]: 'anon:دستگاه', [IDENTITY_HEADERS.at]: '1' }),
        { key: 'not-an-event', value: Buffer.from('{"type":"page_view"}') },
      ],
    });
    await poison.disconnect();
    await produceAll(config, [
      sentEvent(
        'page_view',
        { n: 1, at: '2026-11-10T09:00:00Z', customer_id: 'مریم', segment: 'smb' },
        { page_type: 'home', duration_ms: 1000, cta_shown: false, cta_clicked: false },
      ),
    ]);

    running.push(await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') }));
    await processedAll(kafka, config);
    const { profiles } = await processorOutputsOf(kafka, config);
    expect(profiles.map(([key]) => key)).toEqual(['مریم']);
    const dead = (await consumeN(kafka, topics.deadLetter.name, 3)).map((m) => ({
      key: m.key?.toString(),
      stage: m.headers?.[DEAD_LETTER_HEADERS.stage]?.toString(),
      reason: m.headers?.[DEAD_LETTER_HEADERS.reason]?.toString(),
      source: m.headers?.[DEAD_LETTER_HEADERS.sourceTopic]?.toString(),
    }));
    expect(dead).toEqual([
      {
        key: 'not-an-event',
        stage: 'decode',
        reason: 'value does not start with the Confluent magic byte 0 (got 123)',
        source: topics.resolvedEvents.name,
      },
      { key: 'cmd-split', stage: 'decode', reason: 'unknown identity command split', source: topics.resolvedEvents.name },
      {
        key: 'cmd-merge',
        stage: 'process',
        reason: `processing failed: Error: identity command merge without ${IDENTITY_HEADERS.customer}`,
        source: topics.resolvedEvents.name,
      },
    ]);
  });

  it('publishes the days after tomorrow it held back once the partition goes quiet', { timeout: 120_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1', PROCESSOR_FAR_AHEAD_EVERY_MS: '10000' });
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(config.topicPrefix);
    const registry = createRegistry(config.registry);
    const visit = (id: number, customer: string) =>
      sentEvent(
        'page_view',
        { n: id, at: '2026-11-10T09:00:00Z', customer_id: customer, segment: 'smb', session_id: `${customer}-1` },
        { page_type: 'home' },
      );
    /** smb's 30-day visitors on a day ten days ahead of stream time, as last published. */
    const visitorsAhead = async () => {
      const shares = await readRecords(kafka, registry, topics.segmentKpis.name, TOPIC_RECORDS.segmentKpis, [0]);
      const ahead = shares.filter(({ value }) => value?.segment === 'smb' && value.day === '2026-11-20').at(-1);
      return ahead?.value?.rolling['30']?.visitors;
    };
    running.push(await runProcessor({ kafka, registry, config, logger: createLogger('silent') }));
    // The partition's first batch publishes every day ahead; a batch right after it holds them back.
    await produceAll(config, [visit(1, 'ann')]);
    await processedAll(kafka, config);
    await produceAll(config, [visit(2, 'bob')]);
    await processedAll(kafka, config);
    // No batch comes after: the partition publishes them on its own.
    await pollUntil(async () => ((await visitorsAhead()) === 2 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: "bob in smb's 30-day visitors ten days ahead",
    });
  });

  it('restarted a transaction marker short of the end of resolved-events, commits past it', { timeout: 120_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1' });
    const kafka = createKafka(config.kafka, undefined);
    const topics = topicsFor(config.topicPrefix);
    const start = () => runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') });
    await produceAll(config, journeys({ customers: 3, start: '2026-11-01T00:00:00Z', days: 1, seed: 3 }));
    const first = await start();
    await processedAll(kafka, config);
    await first.stop();
    // The identity step's last transaction ends in its commit marker: where a processor killed
    // between committing its last batch and the marker's fetch leaves the group.
    const [{ high } = { high: 0n }] = await topicOffsets(kafka, topics.resolvedEvents.name);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: processorGroupOf(config),
      topic: topics.resolvedEvents.name,
      partitions: [{ partition: 0, offset: String(high - 1n) }],
    });
    await admin.disconnect();
    running.push(await start());
    // Nothing is left to count; the lag must still reach zero (it stayed at 1 until more data came).
    await processedAll(kafka, config, 30_000);
  });

  it(
    'replays a batch that failed after its events were applied, in full: the outputs of a run without the failure',
    { timeout: 180_000 },
    async () => {
      const workload = journeys({ customers: 60, start: '2026-11-01T00:00:00Z', days: 3, seed: 11 });
      // Fewer, fuller batches: the three that fail hold most of the events.
      const settings = { PROCESSOR_BATCH_MIN_BYTES: '65536', PROCESSOR_BATCH_MAX_WAIT_MS: '500' };
      const failing = testConfig({ ...settings, TOPIC_PREFIX: `${uniqueName('failing')}.` });
      const reference = testConfig({ ...settings, TOPIC_PREFIX: `${uniqueName('reference')}.` });
      await Promise.all([produceAll(failing, workload), produceAll(reference, workload)]);
      const kafka = createKafka(failing.kafka, undefined);
      const start = (config: Config, producers?: TransactionalProducerFactory) =>
        runProcessor({
          kafka,
          registry: createRegistry(config.registry),
          config,
          logger: createLogger('silent'),
          ...(producers && { producers }),
        });
      const uninterrupted = await start(reference);
      await processedAll(kafka, reference);
      // The journey step's first three batches fail at their commit (its partitions' transactional ids are <group>.<partition>).
      const replaying = await start(failing, failingBatchCommits(3, `${processorGroupOf(failing)}.`));
      await processedAll(kafka, failing, 120_000);
      // Stopped, each has published the days ahead it held back.
      await Promise.all([uninterrupted.stop(), replaying.stop()]);
      const [after, expected] = await Promise.all([processorOutputsOf(kafka, failing), processorOutputsOf(kafka, reference)]);
      expect(after.transitions.length).toBeGreaterThan(60);
      expect(after).toEqual(expected);
    },
  );

  it('killed with SIGKILL mid-stream and restarted, publishes exactly what an uninterrupted run does', { timeout: 240_000 }, async () => {
    const { log, phase } = testLog('processor-kill');
    await killAndCompare(log, phase);
  });

  it(
    'on two threads, killed with SIGKILL mid-stream and restarted, publishes exactly what one thread uninterrupted does',
    { timeout: 240_000 },
    async () => {
      const { log, phase } = testLog('processor-kill-threads');
      await killAndCompare(log, phase, { PROCESSOR_THREADS: '2' });
    },
  );
});

/** How many members of a consumer group hold partitions of `topic`. */
async function membersAssigned(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return (groups[0]?.members ?? []).filter((member) => {
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      return (assignment?.assignment[topic]?.length ?? 0) > 0;
    }).length;
  } finally {
    await admin.disconnect();
  }
}

/** The reference runs on one thread; `killedEnv` is the killed and restarted processor's. */
async function killAndCompare(
  log: { push: (line: string) => void },
  phase: (name: string) => void,
  killedEnv: Record<string, string> = {},
): Promise<void> {
  {
    const workload = journeys({ customers: 150, start: '2026-11-01T00:00:00Z', days: 6, seed: 7 });
    const killed = testConfig({ TOPIC_PREFIX: `${uniqueName('killed')}.` });
    const reference = testConfig({ TOPIC_PREFIX: `${uniqueName('reference')}.` });
    const threads = Number(killedEnv.PROCESSOR_THREADS ?? '1');
    // On several threads the events come once every thread holds partitions of both steps: each
    // thread joins a group a rebalance after the one before, seconds the workload takes to count.
    await Promise.all([threads === 1 ? produceAll(killed, workload) : undefined, produceAll(reference, workload)]);
    const kafka = createKafka(killed.kafka, undefined);

    phase('produced');
    const uninterrupted = startProcessorChild(reference, log);
    await processedAll(kafka, reference);
    await stopJourney(uninterrupted);

    phase('reference done');
    const victim = startProcessorChild(killed, log, killedEnv);
    if (threads > 1) {
      const killedTopics = topicsFor(killed.topicPrefix);
      await pollUntil(
        async () => {
          const steps = await Promise.all([
            membersAssigned(kafka, identityGroupOf(killed), killedTopics.events.name),
            membersAssigned(kafka, processorGroupOf(killed), killedTopics.resolvedEvents.name),
          ]);
          return steps.every((members) => members >= threads) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: 'every thread to hold partitions of both steps' },
      );
      await produceAll(killed, workload);
      phase('every thread holds partitions; produced');
    }
    const progress = await pollUntil(
      async () => {
        // Of the events, the share counted: offsets the journey step committed (transaction markers
        // included) over the events' count; the identity step forwards as it goes, so its topic alone says little.
        const topics = topicsFor(killed.topicPrefix);
        const counted = await committedOffsets(kafka, processorGroupOf(killed), topics.resolvedEvents.name);
        const fraction = counted / (await topicOffsets(kafka, topics.events.name)).reduce((sum, p) => sum + Number(p.high), 0);
        return fraction >= 0.2 ? fraction : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: 'the processor to commit a fifth of the events' },
    );
    victim.kill('SIGKILL');
    await exited(victim);
    phase(`killed at ${(progress * 100).toFixed(0)}% committed`);
    expect(progress).toBeLessThan(1); // the kill landed mid-stream

    const restarted = startProcessorChild(killed, log, killedEnv);
    await processedAll(kafka, killed, 180_000);
    phase('restarted run done');
    await stopJourney(restarted);

    const [after, expected] = await Promise.all([processorOutputsOf(kafka, killed), processorOutputsOf(kafka, reference)]);
    expect(after.transitions.length).toBeGreaterThan(150);
    expect(after.transitions).toEqual(expected.transitions);
    expect(after.profiles).toEqual(expected.profiles);
    expect(after.kpis).toEqual(expected.kpis);
    expect(after.atRisk.length).toBeGreaterThan(0);
    expect(after.atRisk).toEqual(expected.atRisk);
  }
}
