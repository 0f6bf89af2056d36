/**
 * Webhook delivery on the real Kafka: alert records put on the alerts topic as the alerting service
 * would, the notifier in this process, webhooks that fail in each way a receiver can. A failing
 * webhook is retried and then told once; one that refuses goes to the dead-letter topic; one that
 * is down holds back nobody else and is told after a restart; a snoozed segment is not told.
 */
import { describe, expect, it } from 'vitest';
import { alertActionKey, alertKey, type AlertActionRecord, type AlertRecord } from '../../schemas/alert-records.ts';
import { DEAD_LETTER_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { alertIdOf } from '../../services/alerts/segment-alerts.ts';
import { runNotifier } from '../../services/alerts/notifier.ts';
import type { Config } from '../../services/common/config.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { testConfig } from '../helpers/config.ts';
import { consumeN, encodersFor } from '../helpers/kafka.ts';
import { freePort } from '../helpers/net.ts';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhooks.ts';

const SECRET = 'notifier-test-secret-0123456789';

const fired = (segment: string, signal: AlertRecord['signal']): AlertRecord => {
  const now = new Date().toISOString();
  const today = now.slice(0, 10);
  return {
    alert_id: alertIdOf(segment, signal, today),
    segment,
    signal,
    status: 'firing',
    change: 'fired',
    revision: 1,
    value: 0.5,
    baseline: 0.1,
    threshold: 0.25,
    worse: 'up',
    window_day: today,
    window_days: 1,
    sample_size: 40,
    start_day: today,
    fired_day: today,
    resolved_day: null,
    peak: 0.5,
    weight: 1,
    fired_at: now,
    resolved_at: null,
    updated_at: now,
  };
};

async function send(config: Config, topic: string, messages: { key: string; value: string | Buffer }[]): Promise<void> {
  const producer = createIdempotentProducer(createKafka(config.kafka, undefined));
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

const registryOf = (config: Config) => createRegistry(config.registry);

async function alertsOf(config: Config, records: readonly AlertRecord[]) {
  const { alerts } = await encodersFor(registryOf(config), topicsFor(config.topicPrefix), 'alerts');
  return records.map((r) => ({ key: alertKey(r.segment, r.signal), value: alerts(r) }));
}

describe('alert notifier', () => {
  it(
    'retries a failing webhook, dead-letters a refusing one, holds back nobody for one that is down and tells it after a restart, and tells no snoozed segment',
    { timeout: 180_000 },
    async () => {
      const [flakyPort, refusingPort, downPort] = await Promise.all([freePort(), freePort(), freePort()]);
      const webhook = (name: string, port: number) => ({ name, url: `http://127.0.0.1:${String(port)}/hook`, secret: SECRET });
      const config = testConfig({
        ALERT_GROUP_WAIT_S: '1',
        ALERT_WEBHOOK_MAX_BACKOFF_S: '1',
        ALERT_WEBHOOKS: JSON.stringify([webhook('flaky', flakyPort), webhook('refusing', refusingPort), webhook('down', downPort)]),
      });
      const kafka = createKafka(config.kafka, undefined);
      const topics = topicsFor(config.topicPrefix);
      await ensureTopics(kafka, config.kafka, Object.values(topics));
      const flaky = await webhookReceiver(SECRET, { port: flakyPort, statuses: [503, 503, 204] });
      const refusing = await webhookReceiver(SECRET, { port: refusingPort, statuses: [400] });
      let down: WebhookReceiver | undefined;

      const snooze: AlertActionRecord = {
        action: 'snooze',
        target: 'quiet',
        until: new Date(Date.now() + 3_600_000).toISOString(),
        by: 'test',
        at: new Date().toISOString(),
        note: null,
      };
      // Beside the snooze, bytes some other producer put there: skipped, never stopping the notifier.
      await send(config, topics.alertActions.name, [
        { key: 'snooze|smb', value: 'not avro' },
        { key: alertActionKey(snooze), value: (await encodersFor(registryOf(config), topics, 'alertActions')).alertActions(snooze) },
      ]);

      const logger = createLogger('silent');
      let notifier = await runNotifier({ kafka, registry: registryOf(config), config, logger });
      try {
        await send(
          config,
          topics.alerts.name,
          await alertsOf(config, [fired('smb', 'detractor_share'), fired('smb', 'ces_mean'), fired('quiet', 'ces_mean')]),
        );

        // flaky: 503, 503, then taken; one notification of smb, the same delivery id each time.
        await pollUntil(() => Promise.resolve(flaky.deliveries.length >= 3 ? true : undefined), {
          timeoutMs: 30_000,
          what: 'three attempts',
        });
        expect(flaky.deliveries.map((r) => r.body.segment)).toEqual(['smb', 'smb', 'smb']);
        expect(new Set(flaky.deliveries.map((r) => r.id)).size).toBe(1);
        expect(flaky.deliveries.every((r) => r.signed)).toBe(true);

        // refusing: one attempt, then the dead-letter topic with the reason.
        const [dead] = await consumeN(kafka, topics.deadLetter.name, 1);
        const header = (name: string) => dead?.headers?.[name]?.toString();
        expect(header(DEAD_LETTER_HEADERS.stage)).toBe('notify');
        expect(header(DEAD_LETTER_HEADERS.reason)).toMatch(/webhook refusing answered 400/);
        expect(header(DEAD_LETTER_HEADERS.reason)).not.toContain(String(refusingPort));
        expect(refusing.deliveries).toHaveLength(1);

        // Stopped while `down` was down: nothing committed for it, so the next run tells it.
        notifier = await notifier.stop().then(async () => {
          down = await webhookReceiver(SECRET, { port: downPort });
          return runNotifier({ kafka, registry: registryOf(config), config, logger });
        });
        await pollUntil(() => Promise.resolve((down?.deliveries.length ?? 0) >= 1 ? true : undefined), {
          timeoutMs: 30_000,
          what: 'the notification after the restart',
        });
        expect(down?.deliveries.map((r) => r.body.segment)).toEqual(['smb']);
        // Delivered and committed before: flaky and refusing are not told again.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect([flaky.deliveries.length, refusing.deliveries.length]).toEqual([3, 1]);
        // The snoozed segment told nobody.
        expect([...flaky.deliveries, ...refusing.deliveries, ...(down?.deliveries ?? [])].some((r) => r.body.segment === 'quiet')).toBe(
          false,
        );
      } finally {
        await notifier.stop();
        for (const server of [flaky.server, refusing.server, down?.server]) server?.close();
      }
    },
  );
});
