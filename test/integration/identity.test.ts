/**
 * Identity stitching on the real stack (the processor as `journey run processor`, the sink,
 * ClickHouse): an anonymous visitor who browses, identifies, buys and comes back anonymously is one
 * person — one profile in `conversion` with every page view, one visitor of each day and of the
 * week; a second customer on the same device is a recorded conflict and stays separate; customers
 * sharing a junk anonymous id never merge. Then the same stream with the processor SIGKILLed in the
 * middle of the merges ends exactly as an uninterrupted run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../services/common/config.ts';
import { createIdempotentProducer, createKafka, ensureTopics, keyPartitioner, topicOffsets } from '../../services/common/kafka.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { createLogger } from '../../services/common/logger.ts';
import { runProcessor } from '../../services/processor/processor.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { partitionKeyOf, toAvro } from '../../schemas/event-contract.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { identityGroupName, processorGroupName, topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { eventsOfDay } from '../helpers/events.ts';
import { readRecords } from '../helpers/kafka.ts';
import { exited, processorCaughtUp, produceAll, startJourney, startSink, stopJourney, testLog } from '../helpers/pipeline.ts';
import { sqlRows } from '../helpers/sql.ts';
import { committedOffsets } from '../helpers/streams.ts';

const DEVICE = 'دستگاه-۷';
type Json = Record<string, unknown>;
const anonymously = (event: Json): Json => ({ ...event, customer_id: null, anonymous_id: DEVICE, session_id: 'device-session' });
const onDevice = (event: Json, anonymousId = DEVICE): Json => ({ ...event, anonymous_id: anonymousId });
const page = (page_type: string) => ({ url: `https://shop.example/${page_type}`, page_type, duration_ms: 2000 });

function journey() {
  const first = eventsOfDay({ segment: 'fa', daysAgo: 2 });
  const second = eventsOfDay({ segment: 'fa', daysAgo: 1 });
  return {
    days: [first.day, second.day],
    beforeLink: [
      anonymously(first.event('مریم', 9, 'page_view', page('home'))),
      anonymously(first.event('مریم', 10, 'page_view', page('pricing'))),
      // Two customers on one junk id: never one person.
      onDevice(first.event('سارا', 10, 'page_view', page('home')), 'undefined'),
      onDevice(first.event('رضا', 10, 'page_view', page('blog')), 'undefined'),
    ],
    link: [onDevice(first.event('مریم', 11, 'identify', { method: 'signup' }))],
    afterLink: [
      first.event('مریم', 12, 'purchase', { order_id: 'o-1', amount: '1250000', currency: 'IRR' }),
      // Late: browsed before the sign-up, sent after it (a lagging device).
      anonymously(first.event('مریم', 8, 'page_view', page('product'))),
      // The next day, anonymously again: already hers.
      anonymously(second.event('مریم', 9, 'page_view', page('support'))),
      // Somebody else signs in on the same device: a conflict, not a merge.
      onDevice(second.event('علی', 10, 'page_view', page('home'))),
    ],
  };
}

async function runAll(config: Config, env: Record<string, string>, log: string[], children: ChildProcess[]) {
  const { beforeLink, link, afterLink } = journey();
  // In three sends: the link after the visitor's browsing, the late event after the link.
  await produceAll(config, beforeLink);
  await produceAll(config, link);
  await produceAll(config, afterLink);
  children.push(startJourney(['run', 'processor'], env, log));
}

describe('identity stitching', () => {
  it('starts the identity step of an upgraded processor where its journey step had read the events', { timeout: 120_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1' });
    const topics = topicsFor(config.topicPrefix);
    const kafka = createKafka(config.kafka, undefined);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const { event } = eventsOfDay({ segment: 'fa', daysAgo: 1 });
    await produceAll(
      config,
      ['counted-before', 'also-before', 'after'].map((c, i) => event(c, 9 + i, 'page_view', page('home'))),
    );
    // What a processor before the identity step had committed: the first two events.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: processorGroupName(config.topicPrefix),
      topic: topics.events.name,
      partitions: [{ partition: 0, offset: '2' }],
    });
    await admin.disconnect();
    const processor = await runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') });
    try {
      await processorCaughtUp(kafka, config.topicPrefix, 60_000);
    } finally {
      await processor.stop();
    }
    const profiles = await readRecords(
      kafka,
      createRegistry(config.registry),
      topics.customerProfiles.name,
      TOPIC_RECORDS.customerProfiles,
      [0],
    );
    expect(profiles.map((p) => p.key)).toEqual(['after']);
  });

  it('refuses to start when partitions were added to the events topic alone, naming both topics', { timeout: 60_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '2' });
    const topics = topicsFor(config.topicPrefix);
    const kafka = createKafka(config.kafka, undefined);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: topics.events.name, count: 3 }] });
    await admin.disconnect();
    // Else partition 2's batches could never commit their links (no changelog partition 2): a stall.
    await expect(
      runProcessor({ kafka, registry: createRegistry(config.registry), config, logger: createLogger('silent') }),
    ).rejects.toThrow(`${topics.events.name} has 3 partitions and its changelog ${topics.identityChangelog.name} 2`);
  });

  it("links an event a producer placed outside its anonymous id's partition where the id's link is", { timeout: 120_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
    const topics = topicsFor(config.topicPrefix);
    const kafka = createKafka(config.kafka, undefined);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const registry = createRegistry(config.registry);
    const { beforeLink, link, afterLink } = journey();
    // The sign-up as a producer keying by customer, or hashing keys otherwise, could place it: in
    // a partition other than the device's. Linked there, the device would be linked a second time
    // and its own partition, without the link, would keep its later events anonymous.
    const schemaId = await registerEventSchema(registry, topics);
    const { events } = validateBatch(link, { now: Date.now(), ...config.events });
    const home = keyPartitioner(3)(partitionKeyOf({ customer_id: null, anonymous_id: DEVICE }));
    const misplaced = await Promise.all(
      events.map(async (e) => ({ key: e.customer_id, partition: (home + 1) % 3, value: await registry.encode(schemaId, toAvro(e)) })),
    );
    const processor = await runProcessor({ kafka, registry, config, logger: createLogger('silent') });
    const producer = createIdempotentProducer(kafka);
    try {
      await producer.connect();
      // In three sends, as they would come live: the later ones after the sign-up was linked.
      await produceAll(config, beforeLink);
      await producer.send({ topic: topics.events.name, messages: misplaced, acks: -1 });
      await processorCaughtUp(kafka, config.topicPrefix, 60_000);
      await produceAll(config, afterLink);
      await processorCaughtUp(kafka, config.topicPrefix, 60_000);
    } finally {
      await Promise.allSettled([producer.disconnect(), processor.stop()]);
    }
    const profiles = await readRecords(kafka, registry, topics.customerProfiles.name, TOPIC_RECORDS.customerProfiles, [0, 1, 2]);
    const last = new Map(profiles.map((p) => [p.key, p.value]));
    // The two views before the sign-up, the late one and the next day's: all hers.
    expect(last.get('مریم')).toMatchObject({ stage: 'conversion', page_views: 4 });
    const links = await readRecords(kafka, registry, topics.identityLinks.name, TOPIC_RECORDS.identityLinks, [0, 1, 2]);
    expect(links.map((l) => `${l.value?.status ?? ''} ${l.value?.customer_id ?? ''}`).sort()).toEqual([
      'conflict علی',
      'linked مریم',
      'merged مریم',
    ]);
  });

  it('makes an anonymous visitor and the customer one person, in profiles, stages and every KPI', { timeout: 240_000 }, async () => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '3' });
    const topics = topicsFor(config.topicPrefix);
    const kafka = createKafka(config.kafka, undefined);
    await ensureTopics(kafka, config.kafka, Object.values(topics));
    const env = { TOPIC_PREFIX: config.topicPrefix, KAFKA_TOPIC_PARTITIONS: '3' };
    const log: string[] = [];
    const children: ChildProcess[] = [];
    const { days } = journey();
    try {
      const sink = await startSink(config, mkdtempSync(path.join(tmpdir(), 'journeyline-identity-')), log, env);
      children.push(sink.child);
      await runAll(config, env, log, children);
      await processorCaughtUp(kafka, config.topicPrefix, 120_000);
      const url = await sink.url();
      const people = await pollUntil(
        async () => {
          const rows = await sqlRows<{ customer_id: string; stage: string; page_views: string; purchases: string }>(
            url,
            'SELECT customer_id, stage, page_views, purchases FROM journey.people ORDER BY customer_id',
          );
          const decisions = await sqlRows(url, 'SELECT 1 FROM journey.identity_links');
          return rows.length === 4 && decisions.length === 3 && rows.some((r) => r.customer_id === 'مریم' && r.page_views === '4')
            ? rows
            : undefined;
        },
        { timeoutMs: 90_000, what: 'four people, one of them merged' },
      );
      expect(people).toEqual([
        { customer_id: 'رضا', stage: 'discovery', page_views: '1', purchases: '0' },
        { customer_id: 'سارا', stage: 'discovery', page_views: '1', purchases: '0' },
        { customer_id: 'علی', stage: 'discovery', page_views: '1', purchases: '0' },
        { customer_id: 'مریم', stage: 'conversion', page_views: '4', purchases: '1' },
      ]);
      expect(await sqlRows(url, "SELECT customer_id, stage FROM journey.people_stages WHERE customer_id = 'مریم'")).toEqual([
        { customer_id: 'مریم', stage: 'conversion' },
      ]);
      expect(
        await sqlRows(url, 'SELECT anonymous_id, customer_id, status, linked_to FROM journey.identity_links ORDER BY status, customer_id'),
      ).toEqual([
        { anonymous_id: DEVICE, customer_id: 'علی', status: 'conflict', linked_to: 'مریم' },
        { anonymous_id: DEVICE, customer_id: 'مریم', status: 'linked', linked_to: null },
        { anonymous_id: DEVICE, customer_id: 'مریم', status: 'merged', linked_to: null },
      ]);
      // Analysts read events by person: the anonymous ones are hers, the conflicting customer's his.
      expect(
        await sqlRows(
          url,
          "SELECT person, count() AS events FROM journey.resolved_events WHERE segment = 'fa' GROUP BY person ORDER BY person",
        ),
      ).toEqual([
        { person: 'رضا', events: '1' },
        { person: 'سارا', events: '1' },
        { person: 'علی', events: '1' },
        { person: 'مریم', events: '6' },
      ]);
      // One visitor each day and in the week: the visitor and the customer are not two. Each
      // partition's share lands on its own, the visitor's partition's taking back and the customer's
      // counting the person: waited for until both have.
      const expected = {
        days: [
          { day: days[0], visitors: '3', buyers: '1' },
          { day: days[1], visitors: '2', buyers: '0' },
        ],
        week: [{ visitors: '4' }],
      };
      const landed = async () => ({
        days: await sqlRows(
          url,
          "SELECT toString(day) AS day, visitors, buyers FROM journey.segment_kpis_daily WHERE segment = 'fa' ORDER BY day",
        ),
        week: await sqlRows(
          url,
          "SELECT visitors FROM journey.segment_kpis WHERE segment = 'fa' AND window_days = 7 AND day = {day:Date}",
          {
            day: days[1] ?? '',
          },
        ),
      });
      const kpis = await pollUntil(
        async () => {
          const now = await landed();
          return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
        },
        { timeoutMs: 60_000, what: "the days' and the week's visitors" },
      ).catch(async () => landed());
      expect(kpis).toEqual(expected);
    } finally {
      await Promise.allSettled(children.map((child) => stopJourney(child)));
    }
  });

  it('killed with SIGKILL in the middle of its merges, ends as a run without the kill', { timeout: 300_000 }, async () => {
    // Many visitors, each browsing anonymously, then identifying on one of 3 partitions: merges
    // cross partitions all through the stream. Each visitor comes back anonymously at the end of
    // the stream, after the kill: only the links committed before it make that visit theirs.
    const events: Json[] = [];
    const visitors = Array.from({ length: 120 }, (_, v) => ({
      v,
      day: eventsOfDay({ segment: ['fa', 'ar'][v % 2] ?? 'fa', daysAgo: 1 + (v % 3) }),
      visitor: (e: Json) => ({ ...e, customer_id: null, anonymous_id: `visitor-${v}`, session_id: `s-${v}` }),
    }));
    for (const { v, day, visitor } of visitors) {
      events.push(visitor(day.event(`c-${v}`, 8, 'page_view', page('home'))));
      events.push(visitor(day.event(`c-${v}`, 9, 'page_view', page('pricing'))));
      events.push({ ...day.event(`c-${v}`, 10, 'identify', {}), anonymous_id: `visitor-${v}` });
      events.push(day.event(`c-${v}`, 11, 'page_view', page('product')));
      if (v % 4 === 0) events.push(day.event(`c-${v}`, 12, 'purchase', { order_id: `o-${v}`, amount: '10', currency: 'IRR' }));
    }
    for (const { v, day, visitor } of visitors) events.push(visitor(day.event(`c-${v}`, 13, 'page_view', page('blog'))));
    const { log, phase } = testLog('identity-kill');
    const outcomes: Awaited<ReturnType<typeof outputsOf>>[] = [];
    for (const kill of [false, true]) {
      const config = testConfig({ TOPIC_PREFIX: `${uniqueName(kill ? 'killed' : 'whole')}.`, KAFKA_TOPIC_PARTITIONS: '3' });
      // Small batches, so the kill falls between merges and links; a week's lateness, so no arrival order makes an event too late.
      const env = {
        TOPIC_PREFIX: config.topicPrefix,
        KAFKA_TOPIC_PARTITIONS: '3',
        PROCESSOR_MAX_BYTES_PER_PARTITION: '4096',
        ALLOWED_LATENESS_S: '604800',
      };
      const kafka = createKafka(config.kafka, undefined);
      // A send is a record batch per partition, and a fetch returns whole record batches: small sends, small batches.
      await produceAll(config, events, 12);
      phase(`${kill ? 'killed' : 'whole'} run: processor started`);
      let processor = startJourney(['run', 'processor'], env, log);
      if (kill) {
        const topics = topicsFor(config.topicPrefix);
        const total = (await topicOffsets(kafka, topics.events.name)).reduce((sum, p) => sum + Number(p.high), 0);
        const progress = await pollUntil(
          async () => {
            // The identity step's progress: the journey step, reading what it forwards, is behind it.
            const linked = await committedOffsets(kafka, identityGroupName(config.topicPrefix), topics.events.name).catch(() => 0);
            return linked / total >= 0.25 ? linked / total : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 20, what: 'a quarter of the stream resolved' },
        );
        processor.kill('SIGKILL');
        await exited(processor);
        phase(`killed at ${progress.toFixed(2)} resolved`);
        expect(progress).toBeLessThan(0.9);
        processor = startJourney(['run', 'processor'], env, log);
      }
      await processorCaughtUp(kafka, config.topicPrefix, 180_000);
      phase('caught up');
      await stopJourney(processor);
      outcomes.push(await outputsOf(kafka, config));
    }
    const [whole, killed] = outcomes;
    expect(whole?.merged).toBe(120);
    expect(killed).toEqual(whole);
  });
});

/**
 * What a reader keeps of the outputs, order aside (the interleaving of partitions differs between
 * two runs): the latest profile of each person, the KPI windows summed over partitions, the merges.
 */
async function outputsOf(kafka: Kafka, config: Config) {
  const topics = topicsFor(config.topicPrefix);
  const partitions = Array.from({ length: config.kafka.topicPartitions }, (_, i) => i);
  const registry = createRegistry(config.registry);
  const profiles = new Map<string, unknown>();
  // stage_since of a merged customer is when the union reached its stage: the link's time, or an
  // event's, as the merge came before or after it (rules/merge.ts); the stage itself is not.
  for (const { key, value } of await readRecords(
    kafka,
    registry,
    topics.customerProfiles.name,
    TOPIC_RECORDS.customerProfiles,
    partitions,
  )) {
    const { stage_since: _since, ...profile } = value ?? { stage_since: null };
    profiles.set(key, profile);
  }
  const links = await readRecords(kafka, registry, topics.identityLinks.name, TOPIC_RECORDS.identityLinks, partitions);
  const merged = links.filter((l) => l.value?.status === 'merged');
  for (const { value } of merged) profiles.delete(`anon:${value?.anonymous_id ?? ''}`);
  const shares = new Map<string, SegmentKpiRecord>();
  for (const { key, value } of await readRecords(kafka, registry, topics.segmentKpis.name, TOPIC_RECORDS.segmentKpis, partitions))
    if (value !== null) shares.set(key, value);
  const windows: Record<string, Record<string, number>> = {};
  for (const share of shares.values()) {
    const into = (windows[`${share.segment}|${share.day}`] ??= {});
    for (const [field, n] of Object.entries(share.counts)) into[field] = (into[field] ?? 0) + Number(n);
    // A purchase cycle is fractional days: summed in another order, it differs in the last bits.
    into.purchaseCycleDaysSum = Math.round((into.purchaseCycleDaysSum ?? 0) * 1e9) / 1e9;
    for (const [length, counts] of Object.entries(share.rolling))
      for (const [field, n] of Object.entries(counts)) into[`${field}:${length}`] = (into[`${field}:${length}`] ?? 0) + n;
  }
  return { profiles: [...profiles].sort(([a], [b]) => a.localeCompare(b)), windows, merged: merged.length };
}
