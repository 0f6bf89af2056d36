/**
 * Every topic journeyline writes for others to read, read by a client that is not ours:
 * Confluent's Python client (confluent-kafka's AvroDeserializer and schema registry client,
 * fastavro underneath; provisioned by infra/provision.sh into .tools/py) against the real stack.
 * Times decode as datetimes, days as dates, money as decimals.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { topicsFor } from '../../schemas/topics.ts';
import { alertKey } from '../../schemas/alert-records.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { createRegistry } from '../../services/common/registry.ts';
import type { RunningService } from '../../services/common/running-service.ts';
import { runProcessor } from '../../services/processor/processor.ts';
import { testConfig } from '../helpers/config.ts';
import { eventsOfDay } from '../helpers/events.ts';
import { encodersFor } from '../helpers/kafka.ts';
import { FIRING_ALERT } from '../helpers/records.ts';
import { processorCaughtUp, produceAll } from '../helpers/pipeline.ts';

const PYTHON = path.resolve(import.meta.dirname, '../../.tools/py/bin/python');
const READER = path.resolve(import.meta.dirname, '../foreign/confluent_reader.py');

type Typed = { $type: string; text: string; tz?: string };
interface Read {
  topic: string;
  key: string | null;
  value: Record<string, unknown>;
}

describe('a Confluent client that is not ours', () => {
  const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '2' });
  let processor: RunningService | undefined;
  afterAll(async () => {
    await processor?.stop();
  });

  it('reads every topic journeyline writes, with times, days and money as their types', { timeout: 180_000 }, async () => {
    expect(existsSync(PYTHON), `${PYTHON} is missing: run ./dev test (infra/provision.sh test) to provision it`).toBe(true);
    const kafka = createKafka(config.kafka, undefined);
    const registry = createRegistry(config.registry);
    const topics = topicsFor(config.topicPrefix);
    await ensureTopics(kafka, config.kafka, Object.values(topics));

    // A visitor who buys, then answers NPS as a detractor: a transition, a profile, KPI shares, an at-risk record.
    const { event } = eventsOfDay({ segment: 'smb', daysAgo: 1 });
    await produceAll(config, [
      event('نسرین', 9, 'page_view', { url: 'https://shop.example/pricing', page_type: 'pricing' }),
      event('نسرین', 10, 'purchase', { order_id: 'o-1', amount: '19.99', currency: 'EUR', items: 1 }),
      event('نسرین', 11, 'survey_response', { survey_type: 'nps', score: 2, comment: 'پشتیبانی اصلا جواب نداد' }),
    ]);
    // A visitor who signs in: identity links, linked and merged.
    const visitor = eventsOfDay({ segment: 'fa', daysAgo: 1 }).event;
    await produceAll(config, [
      { ...visitor('کاوه', 9, 'page_view', { url: 'https://shop.example/' }), customer_id: null, anonymous_id: 'دستگاه-۹' },
    ]);
    await produceAll(config, [{ ...visitor('کاوه', 10, 'identify', { method: 'login' }), anonymous_id: 'دستگاه-۹' }]);
    processor = await runProcessor({ kafka, registry, config, logger: createLogger('silent') });
    await processorCaughtUp(kafka, config.topicPrefix, 60_000);

    // The alerts and the actions on them, through the encoders the alerting service and `journey alerts` use.
    const alert = FIRING_ALERT;
    const encode = await encodersFor(registry, topics, 'alerts', 'alertActions');
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: topics.alerts.name,
      acks: -1,
      messages: [{ key: alertKey('smb', 'detractor_share'), value: encode.alerts(alert) }],
    });
    await producer.send({
      topic: topics.alertActions.name,
      acks: -1,
      messages: [
        {
          key: 'snooze|smb',
          value: encode.alertActions({
            action: 'snooze',
            target: 'smb',
            until: '2026-12-05T10:00:00.000Z',
            by: 'نگار',
            at: alert.fired_at,
            note: null,
          }),
        },
      ],
    });
    await producer.disconnect();

    const written = [
      topics.events,
      topics.stageTransitions,
      topics.customerProfiles,
      topics.customersAtRisk,
      topics.segmentKpis,
      topics.alerts,
      topics.alertActions,
      topics.identityLinks,
    ].map((t) => t.name);
    const { stdout } = await promisify(execFile)(PYTHON, [READER, config.kafka.brokers.join(','), config.registry.url, ...written], {
      timeout: 150_000,
      maxBuffer: 64 * 2 ** 20,
    });
    const read = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Read);
    const of = (topic: string) => read.filter((r) => r.topic === topic).map((r) => r.value);
    const typed = (value: unknown) => value as Typed;

    const [purchase] = of(topics.events.name).filter((e) => e.type === 'purchase');
    expect(typed(purchase?.occurred_at)).toMatchObject({ $type: 'datetime', tz: 'UTC' });
    expect(typed(purchase?.event_id).$type).toBe('uuid');

    const transitions = of(topics.stageTransitions.name).filter((t) => t.customer_id === 'نسرین');
    expect(transitions.map((t) => t.to_stage)).toEqual(expect.arrayContaining(['discovery', 'conversion']));
    expect(typed(transitions[0]?.at)).toMatchObject({ $type: 'datetime', tz: 'UTC' });

    const profile = of(topics.customerProfiles.name)
      .filter((p) => p.customer_id === 'نسرین')
      .at(-1);
    expect(profile).toMatchObject({ customer_id: 'نسرین', stage: transitions.at(-1)?.to_stage, purchases: 1, last_nps: 2 });
    expect(typed(profile?.revenue)).toEqual({ $type: 'decimal', text: '19.9900' });
    expect(profile?.revenue_by_currency).toEqual({ EUR: { $type: 'decimal', text: '19.9900' } });
    expect(typed(profile?.first_purchase_at).$type).toBe('datetime');

    const atRisk = of(topics.customersAtRisk.name).at(-1);
    expect(atRisk).toMatchObject({ customer_id: 'نسرین', score: 2, comment: 'پشتیبانی اصلا جواب نداد' });
    expect(typed(atRisk?.revenue).text).toBe('19.9900');

    const share = of(topics.segmentKpis.name).find((s) => s.segment === 'smb' && s.day_reached === true);
    expect(typed(share?.day)).toEqual({ $type: 'date', text: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) });
    expect(typed(share?.revenue)).toEqual({ $type: 'decimal', text: '19.9900' });
    expect(share?.counts).toMatchObject({ visitors: 1, orders: 1, npsDetractors: 1 });

    const [alertRead] = of(topics.alerts.name);
    expect(typed(alertRead?.window_day)).toEqual({ $type: 'date', text: '2026-12-03' });
    expect(typed(alertRead?.fired_at)).toMatchObject({ $type: 'datetime', text: '2026-12-04T10:00:00+00:00' });
    const links = of(topics.identityLinks.name);
    expect(links.map((l) => [l.anonymous_id, l.customer_id, l.status])).toEqual([
      ['دستگاه-۹', 'کاوه', 'linked'],
      ['دستگاه-۹', 'کاوه', 'merged'],
    ]);
    expect(typed(links[0]?.at)).toMatchObject({ $type: 'datetime', tz: 'UTC' });
    expect(typed(links[0]?.event_id).$type).toBe('uuid');
    const [snooze] = of(topics.alertActions.name);
    expect(typed(snooze?.until)).toMatchObject({ $type: 'datetime', text: '2026-12-05T10:00:00+00:00' });
  });
});
