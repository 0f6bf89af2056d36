import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { DAY_MS, type JourneyEvent } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../../services/common/event-decoder.ts';
import { consumeN } from './kafka.ts';

type Json = Record<string, unknown>;

/** A valid event as a backend would send it; `overrides` replace top-level fields. */
export function pageView(overrides: Json = {}): Json {
  return {
    event_id: randomUUID(),
    type: 'page_view',
    occurred_at: new Date(Date.now() - 60_000).toISOString(),
    customer_id: 'cust-1',
    session_id: 'sess-1',
    properties: { url: 'https://shop.example/pricing', page_type: 'pricing', duration_ms: 1500 },
    ...overrides,
  };
}

export function npsResponse(score: number, overrides: Json = {}): Json {
  return pageView({ type: 'survey_response', properties: { survey_type: 'nps', score }, ...overrides });
}

/**
 * Events of one day `daysAgo` days back (UTC midnight), as a backend sends them: `event(customer,
 * hour, type, properties)` at that hour of the day, in `segment`, one session per customer.
 */
export function eventsOfDay(options: { segment: string; channel?: string; daysAgo: number }) {
  const day = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - options.daysAgo * DAY_MS);
  const event = (customer: string, hour: number, type: string, properties: Json) => ({
    event_id: randomUUID(),
    customer_id: customer,
    segment: options.segment,
    ...(options.channel !== undefined && { channel: options.channel }),
    session_id: `${customer}-s`,
    occurred_at: new Date(day.getTime() + hour * 3_600_000).toISOString(),
    type,
    properties,
  });
  return { day: day.toISOString().slice(0, 10), event };
}

/** Reads `count` events from the events topic and decodes them as any consumer would. */
export async function readEvents(kafka: Kafka, registry: SchemaRegistry, topic: string, count: number): Promise<JourneyEvent[]> {
  const decode = createJourneyEventDecoder(registry);
  const messages = await consumeN(kafka, topic, count);
  return Promise.all(
    messages.map(async (message) => {
      const decoded = await decode(message);
      if (decoded.kind !== 'ok') throw new Error(`undecodable event on ${topic}: ${decoded.reason}`);
      return decoded.value;
    }),
  );
}
