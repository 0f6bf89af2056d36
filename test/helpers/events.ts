import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { JourneyEvent } from '../../schemas/event-contract.ts';
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

/** Reads `count` events from the events topic and decodes them as any consumer would. */
export async function readEvents(kafka: Kafka, registry: SchemaRegistry, topic: string, count: number): Promise<JourneyEvent[]> {
  const decode = createJourneyEventDecoder(registry);
  const messages = await consumeN(kafka, topic, count);
  return Promise.all(
    messages.map(async (message) => {
      const decoded = await decode(message);
      if (!decoded.ok) throw new Error(`undecodable event on ${topic}: ${decoded.reason}`);
      return decoded.value;
    }),
  );
}
