/**
 * Webhook delivery of alert notifications: the alerts topic in, HTTP POSTs out. What to send is
 * notifications.ts's; this is the Kafka and HTTP around it.
 *
 * Contract:
 * - Each webhook has a consumer group of its own over the alerts topic (read_committed), so one
 *   webhook that is down holds back nobody else, and the stream is never held: the alerting service
 *   records alerts whatever the webhooks do.
 * - Changes of one segment that arrive within ALERT_GROUP_WAIT_S go out as one notification.
 * - An offset is committed only once every notification of the records before it was delivered (or
 *   given up on): a notification in retry when the process stops is sent again after the restart,
 *   with the same X-Journeyline-Delivery id. Delivery is at least once; receivers drop repeats by that id.
 * - A failed POST is retried with exponential backoff (network errors, 408, 429, 5xx) up to
 *   ALERT_WEBHOOK_GIVE_UP_H; then, or at once for any other status, the notification goes to the
 *   dead-letter topic with the reason, so no alert is lost silently.
 * - Changes about days older than ALERT_NOTIFY_WITHIN_DAYS (a backfill, a webhook added later) are not sent.
 * - Snoozes and acks are read from the alert-actions topic: to its end before anything is sent,
 *   then as they come.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import type { Config, WebhookSettings } from '../common/config.ts';
import { AtLeastOnce } from '../common/at-least-once.ts';
import { deadLetterMessage } from '../common/dead-letter.ts';
import { recordDecoder } from '../common/record-codec.ts';
import { TOPIC_RECORDS } from '../../schemas/topic-records.ts';
import { readPartitionsToEnd, topicOffsets } from '../common/kafka.ts';
import { RenewingProducer, type SendingProducer } from '../common/renewing-producer.ts';
import { runSupervised } from '../common/consumer-supervisor.ts';
import { retryWithBackoff } from '../common/retry.ts';
import type { RunningService, ServiceDeps } from '../common/running-service.ts';
import type { Decoded } from '../common/step-result.ts';
import {
  consumerSettings,
  StreamRunner,
  type Assignment,
  type StreamBatch,
  type StepOutcome,
  type StreamStep,
} from '../common/stream-runner.ts';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import { topicsFor, type Topics } from '../../schemas/topics.ts';
import { DeliveryFailed, post } from './webhook.ts';
import { applyAction, jsonBody, noSilences, notificationOf, triage, type Silences } from './notifications.ts';

export const notifierGroupOf = (config: Config, webhookName: string) => `${config.topicPrefix}alert-notifier.${webhookName}`;

/** A delivery that ended because the notifier is stopping: not committed, sent again after the restart. */
class Stopping extends Error {}

interface Waiting {
  readonly record: AlertRecord;
  readonly partition: number;
  readonly offset: bigint;
}

/**
 * Which offsets of each partition wait for a delivery, and how far the partition was read: the
 * offset to commit is the oldest still waiting, else the next one to read.
 */
class Outstanding {
  private readonly waiting = new Map<number, Set<bigint>>();
  private readonly readTo = new Map<number, bigint>();

  get size(): number {
    let n = 0;
    for (const offsets of this.waiting.values()) n += offsets.size;
    return n;
  }

  /** Partitions read since they were last forgotten. */
  get partitions(): number[] {
    return [...this.readTo.keys()];
  }

  read(partition: number, next: bigint): void {
    if ((this.readTo.get(partition) ?? -1n) < next) this.readTo.set(partition, next);
  }

  hold(partition: number, offset: bigint): void {
    const offsets = this.waiting.get(partition) ?? new Set<bigint>();
    offsets.add(offset);
    this.waiting.set(partition, offsets);
  }

  release(partition: number, offset: bigint): void {
    this.waiting.get(partition)?.delete(offset);
  }

  forget(partition: number): void {
    this.waiting.delete(partition);
    this.readTo.delete(partition);
  }

  committable(partition: number): bigint | undefined {
    const next = this.readTo.get(partition);
    if (next === undefined) return undefined;
    let oldest = next;
    for (const offset of this.waiting.get(partition) ?? []) if (offset < oldest) oldest = offset;
    return oldest;
  }
}

/** Holds more than this many undelivered records and the channel stops fetching until it catches up. */
const MAX_OUTSTANDING = 10_000;
const FLUSH_EVERY_MS = 250;

/** One webhook: its consumer group, the segments waiting to be told, one delivery at a time. */
class Channel implements StreamStep<AlertRecord, undefined> {
  readonly name = 'alerts';
  readonly runner: StreamRunner<AlertRecord, undefined>;
  private readonly groups = new Map<string, { readonly since: number; readonly items: Waiting[] }>();
  private readonly outstanding = new Outstanding();
  private delivering: Promise<void> = Promise.resolve();
  private flushing = false;
  private paused = false;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly groupId: string;
  private readonly topics: Topics;
  private readonly deps: ServiceDeps;
  private readonly webhook: WebhookSettings;
  private readonly silences: Silences;
  private readonly deadLetters: SendingProducer;
  private readonly decodeAlert: (message: KafkaMessage) => Promise<Decoded<AlertRecord>>;

  constructor(deps: ServiceDeps, webhook: WebhookSettings, silences: Silences, deadLetters: SendingProducer) {
    this.deps = deps;
    this.decodeAlert = recordDecoder(deps.registry, TOPIC_RECORDS.alerts);
    this.webhook = webhook;
    this.silences = silences;
    this.deadLetters = deadLetters;
    this.groupId = notifierGroupOf(deps.config, webhook.name);
    this.topics = topicsFor(deps.config.topicPrefix);
    this.runner = new StreamRunner({
      consumer: deps.kafka.consumer(consumerSettings(this.groupId, deps.config.alerts.sessionTimeoutMs, { maxWaitTimeInMs: 1_000 })),
      topics: [this.topics.alerts.name],
      groupId: this.groupId,
      deadLetterTopic: this.topics.deadLetter.name,
      step: this,
      // Offsets follow deliveries (Outstanding), not reads.
      delivery: new AtLeastOnce(deadLetters, 'by-step'),
      logger: deps.logger,
      outageToleranceMs: deps.config.kafka.outageToleranceMs,
    });
  }

  async start(): Promise<void> {
    await this.runner.start();
    this.timer = setInterval(() => {
      this.flush();
    }, FLUSH_EVERY_MS);
  }

  decode(message: KafkaMessage): Promise<Decoded<AlertRecord>> {
    return this.decodeAlert(message);
  }

  assigned(assignment: Assignment): void {
    const assigned = assignment.get(this.topics.alerts.name) ?? new Set<number>();
    for (const [segment, group] of this.groups) {
      const kept = group.items.filter((item) => assigned.has(item.partition));
      if (kept.length === 0) this.groups.delete(segment);
      else this.groups.set(segment, { since: group.since, items: kept });
    }
    for (const partition of this.outstanding.partitions.filter((p) => !assigned.has(p))) this.outstanding.forget(partition);
  }

  // A fetch of transaction markers only (the alerting service writes in transactions): committed past, the lag reads 0.
  markersOnly(_topic: string, partition: number, next: bigint): void {
    this.outstanding.read(partition, next);
    void this.commit(partition);
  }

  /** Sets aside what is only recorded, and queues the rest per segment. */
  async process(batch: StreamBatch<AlertRecord>): Promise<StepOutcome> {
    const { logger } = this.deps;
    const now = Date.now();
    const { notify, silenced, stale } = triage(
      batch.decoded.map((d) => d.value),
      this.silences,
      now,
      this.deps.config.alerts.notifyWithinDays,
    );
    for (const { record, snooze } of silenced)
      logger.info({ event: 'alerts.snoozed', webhook: this.webhook.name, alert: record.alert_id, change: record.change, snooze });
    for (const record of stale)
      logger.info({
        event: 'alerts.not_notified_old',
        webhook: this.webhook.name,
        alert: record.alert_id,
        change: record.change,
        day: record.window_day,
      });
    const toNotify = new Set(notify);
    for (const { message, value } of batch.decoded) {
      if (!toNotify.has(value)) continue;
      const item: Waiting = { record: value, partition: batch.partition, offset: BigInt(message.offset) };
      this.outstanding.hold(item.partition, item.offset);
      const group = this.groups.get(value.segment) ?? { since: now, items: [] };
      group.items.push(item);
      this.groups.set(value.segment, group);
    }
    this.outstanding.read(batch.partition, batch.next);
    await this.commit(batch.partition);
    if (this.outstanding.size > MAX_OUTSTANDING && !this.paused) {
      this.paused = true;
      this.runner.pause();
      logger.warn({ event: 'alerts.notifier_paused', webhook: this.webhook.name, outstanding: this.outstanding.size });
    }
    return { outputs: [] };
  }

  /** Hands every segment whose group wait is over to the delivery queue. */
  private flush(): void {
    if (this.flushing || this.closing) return;
    const now = Date.now();
    for (const [segment, group] of this.groups) {
      if (now - group.since < this.deps.config.alerts.groupWaitMs) continue;
      this.groups.delete(segment);
      this.flushing = true;
      this.delivering = this.delivering
        .then(() => this.deliver(segment, group.items))
        .finally(() => {
          this.flushing = false;
        });
      return;
    }
  }

  private async deliver(segment: string, items: readonly Waiting[]): Promise<void> {
    const { logger, config } = this.deps;
    const notification = notificationOf(
      segment,
      items.map((item) => item.record),
    );
    const began = Date.now();
    let attempts = 0;
    try {
      await retryWithBackoff(
        () => {
          attempts++;
          return post(this.webhook, notification, config.alerts.delivery.timeoutMs);
        },
        {
          isRetryable: (error) =>
            !(error instanceof DeliveryFailed && !error.retryable) && Date.now() - began < config.alerts.delivery.giveUpMs,
          firstBackoffMs: 1000,
          maxBackoffMs: config.alerts.delivery.maxBackoffMs,
          onRetry: (error, attempt, backoffMs) => {
            logger.warn({ event: 'alerts.notify_retry', webhook: this.webhook.name, segment, attempt, backoffMs, reason: String(error) });
          },
          whileWaiting: () => {
            if (this.closing) throw new Stopping();
          },
        },
      );
      logger.info(
        { event: 'alerts.notified', webhook: this.webhook.name, segment, delivery: notification.id, alerts: items.length, attempts },
        `${segment}: ${String(items.length)} alert change(s) sent to ${this.webhook.name}`,
      );
    } catch (error: unknown) {
      if (error instanceof Stopping) return; // not committed: sent again after the restart
      const reason = `notification not delivered after ${String(attempts)} attempt(s): ${error instanceof Error ? error.message : String(error)}`;
      logger.error({ event: 'alerts.notify_failed', webhook: this.webhook.name, segment, delivery: notification.id, reason });
      const first = items[0] as Waiting;
      await this.deadLetters.send({
        topic: this.topics.deadLetter.name,
        acks: -1,
        messages: [
          deadLetterMessage(
            {
              topic: this.topics.alerts.name,
              partition: first.partition,
              offset: first.offset.toString(),
              key: Buffer.from(segment),
              value: Buffer.from(jsonBody(notification)),
              timestamp: String(Date.now()),
            },
            { reason, stage: 'notify', consumerGroup: this.groupId },
          ),
        ],
      });
    }
    for (const item of items) this.outstanding.release(item.partition, item.offset);
    for (const partition of new Set(items.map((item) => item.partition))) await this.commit(partition);
    if (this.paused && this.outstanding.size < MAX_OUTSTANDING / 2) {
      this.paused = false;
      this.runner.resume();
    }
  }

  private async commit(partition: number): Promise<void> {
    const offset = this.outstanding.committable(partition);
    if (offset === undefined) return;
    await this.runner.commitOffset(this.topics.alerts.name, partition, offset).catch((error: unknown) => {
      // A partition that moved to another member in the meantime: that member reads from the last commit.
      this.deps.logger.warn({ event: 'alerts.notifier_commit_failed', webhook: this.webhook.name, partition, err: error });
    });
  }

  /** Still in the group: the delivery in hand ends (one in retry ends at once and is sent again after a restart). */
  async stopping(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await this.delivering.catch(() => undefined);
  }
}

/** Keeps the acks and snoozes current: the whole topic first, then as they come. */
async function followActions(
  deps: ServiceDeps,
  topics: Topics,
  silences: Silences,
): Promise<{ died: Promise<Error>; stop(): Promise<void> }> {
  const { kafka, logger } = deps;
  const topic = topics.alertActions.name;
  const decodeAction = recordDecoder(deps.registry, TOPIC_RECORDS.alertActions);
  const apply = async (key: string, value: Buffer | null) => {
    if (value === null) {
      applyAction(silences, key, null);
      return;
    }
    // Anything else a producer put there is skipped, named: it never stops the notifier.
    const parsed = await decodeAction({ key: Buffer.from(key), value });
    if (parsed.kind === 'ok') applyAction(silences, key, parsed.value);
    else logger.warn({ event: 'alerts.action_skipped', key, reason: parsed.reason });
  };
  const partitions = (await topicOffsets(kafka, topic)).map((o) => o.partition);
  await readPartitionsToEnd(kafka, topic, partitions, (_p, key, value) => apply(key, value), 120_000);
  // A group of its own per process, never committed: every instance reads all actions.
  return runSupervised(
    kafka.consumer({ groupId: `${topic}.reader.${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 1_000 }),
    { topics: [topic], fromBeginning: true },
    { autoCommit: false, eachMessage: ({ message }) => apply(message.key?.toString() ?? '', message.value) },
    { name: 'alerts.actions', logger, outageToleranceMs: deps.config.kafka.outageToleranceMs },
  );
}

export async function runNotifier(deps: ServiceDeps): Promise<RunningService> {
  const { kafka, config, logger } = deps;
  if (config.alerts.webhooks.length === 0) {
    logger.info({ event: 'alerts.no_webhooks' }, 'no ALERT_WEBHOOKS: alerts are recorded (topic, ClickHouse), nobody is notified');
    return { died: new Promise<Error>(() => undefined), stop: () => Promise.resolve() };
  }
  const topics = topicsFor(config.topicPrefix);
  const silences = noSilences();
  const actions = await followActions(deps, topics, silences);
  const deadLetters = RenewingProducer.idempotent(kafka);
  await deadLetters.connect();
  const channels = config.alerts.webhooks.map((webhook) => new Channel(deps, webhook, silences, deadLetters));
  for (const channel of channels) await channel.start();
  const died = Promise.race([actions.died, ...channels.map((channel) => channel.runner.died)]);
  return {
    died,
    stop: async () => {
      await Promise.allSettled(channels.map((channel) => channel.runner.stop()));
      await actions.stop();
      await deadLetters.disconnect();
    },
  };
}
