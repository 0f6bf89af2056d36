/**
 * `journey generate`: traffic.ts's journeys sent as a backend would, through the collector (HTTP,
 * with an API key) or the producer library: first `days` of history (as fast as they are taken),
 * then live traffic at `rate` events/s until stopped. Progress goes to `report` every 2 s.
 *
 * Invalid events are refused at the edge with the field named (counted as rejected); through the
 * producer library a few raw, undecodable records are also put on the events topic, as a broken
 * producer elsewhere might, so the dead-letter path has something to show.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { createIdempotentProducer } from '../common/kafka.ts';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { EventProducer } from '../producer/event-producer.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { DAY_MS } from '../../schemas/event-contract.ts';
import { traffic, type GeneratedEvent, type TrafficOptions } from './traffic.ts';

export interface GeneratorSettings extends TrafficOptions {
  /** Days of history before now (0: live only). */
  readonly days: number;
  /** Live events per second after the history (0: stop after it). */
  readonly rate: number;
  /** Send through this collector (`http://host:port`) with `apiKey`; else through the producer library. */
  readonly collector?: { readonly url: string; readonly apiKey: string } | undefined;
}

export interface GeneratorProgress {
  readonly phase: 'history' | 'live' | 'done';
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly eventsPerSecond: number;
  /** The newest day of history sent, while sending history. */
  readonly day?: string;
}

export interface RunningGenerator {
  /** Resolves when the history is sent and, with no live rate, when everything is. */
  readonly historySent: Promise<void>;
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

type Sender = (events: readonly GeneratedEvent[]) => Promise<{ accepted: number; rejected: number }>;

const BATCH = 500;
const PROGRESS_EVERY_MS = 2_000;
const LIVE_TICK_MS = 250;

function collectorSender(collector: { url: string; apiKey: string }): Sender {
  const endpoint = new URL('/v1/events', collector.url);
  return async (events) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${collector.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    if (response.status === 202 || response.status === 422) {
      const outcome = (await response.json()) as { accepted: number; rejected: number };
      return { accepted: outcome.accepted, rejected: outcome.rejected };
    }
    throw new Error(`collector answered ${String(response.status)}: ${(await response.text()).slice(0, 300)}`);
  };
}

async function producerSender(kafka: Kafka, registry: SchemaRegistry, config: Config) {
  const topics = topicsFor(config.topicPrefix);
  const producer = await EventProducer.connect({ kafka, registry, kafkaSettings: config.kafka, topics, eventTime: config.events });
  const raw = createIdempotentProducer(kafka);
  await raw.connect();
  let batches = 0;
  const send: Sender = async (events) => {
    const outcome = await producer.send(events);
    // Now and then a record no decoder can read, keyed like an event: for the dead-letter topic.
    if (++batches % 20 === 0)
      await raw.send({ topic: topics.events.name, messages: [{ key: 'generator-poison', value: Buffer.from('{"not":"avro"}') }] });
    return { accepted: outcome.accepted, rejected: outcome.rejected };
  };
  return {
    send,
    close: async () => {
      await producer.close();
      await raw.disconnect();
    },
  };
}

export async function runGenerator(
  settings: GeneratorSettings,
  deps: { readonly kafka: Kafka; readonly registry: SchemaRegistry; readonly config: Config },
  report: (progress: GeneratorProgress) => void,
): Promise<RunningGenerator> {
  const journeys = traffic(settings);
  const viaProducer = settings.collector === undefined ? await producerSender(deps.kafka, deps.registry, deps.config) : undefined;
  const send = viaProducer?.send ?? collectorSender(settings.collector as { url: string; apiKey: string });
  const run = { stopping: false };
  let phase: GeneratorProgress['phase'] = 'history';
  let day: string | undefined;
  const totals = { sent: 0, accepted: 0, rejected: 0 };
  let sentAtLastReport = 0;
  let lastReport = performance.now();
  const progress = () => {
    const now = performance.now();
    const eventsPerSecond = Math.round(((totals.sent - sentAtLastReport) * 1000) / Math.max(1, now - lastReport));
    sentAtLastReport = totals.sent;
    lastReport = now;
    report({ phase, ...totals, eventsPerSecond, ...(day === undefined ? {} : { day }) });
  };
  const timer = setInterval(progress, PROGRESS_EVERY_MS);

  const sendAll = async (events: readonly GeneratedEvent[]) => {
    for (let i = 0; i < events.length && !run.stopping; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      const outcome = await send(batch);
      totals.sent += batch.length;
      totals.accepted += outcome.accepted;
      totals.rejected += outcome.rejected;
    }
  };

  const historySent = (async () => {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    for (let index = 0; index < settings.days && !run.stopping; index++) {
      const start = today - (settings.days - index) * DAY_MS;
      day = new Date(start).toISOString().slice(0, 10);
      await sendAll(journeys.day(index, start, settings.days));
    }
    day = undefined;
  })();

  const done = (async () => {
    await historySent;
    phase = 'live';
    // Live: every tick the events due since the last one, so the rate holds whatever a send costs.
    let owed = 0;
    let last = performance.now();
    while (!run.stopping && settings.rate > 0) {
      await new Promise((resolve) => setTimeout(resolve, LIVE_TICK_MS));
      const now = performance.now();
      owed += ((now - last) / 1000) * settings.rate;
      last = now;
      const count = Math.floor(owed);
      if (count === 0) continue;
      owed -= count;
      await sendAll(journeys.live(count, Date.now()));
    }
  })().finally(() => {
    phase = 'done';
    clearInterval(timer);
    progress();
  });

  return {
    historySent,
    done,
    stop: async () => {
      run.stopping = true;
      await done.catch(() => undefined);
      await viaProducer?.close();
    },
  };
}
