/**
 * The collector against the real stack: each bad-input class gets its exact error, and the valid
 * events in the same request reach Kafka, decodable by any consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runCollector } from '../../services/collector/run.ts';
import type { RunningCollector } from '../../services/collector/collector.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { testConfig } from '../helpers/config.ts';
import { npsResponse, pageView } from '../helpers/events.ts';
import { readEvents } from '../helpers/streams.ts';

const API_KEY = 'test-key-0123456789abcdef';
const config = testConfig({
  COLLECTOR_API_KEYS: API_KEY,
  COLLECTOR_PORT: '0',
  COLLECTOR_MAX_EVENTS: '5',
  COLLECTOR_MAX_BODY_BYTES: '4096',
});
const kafka = createKafka(config.kafka, undefined);
const registry = createRegistry(config.registry);
const topics = topicsFor(config.topicPrefix);
let collector: RunningCollector;

beforeAll(async () => {
  collector = await runCollector(config, createLogger('silent'));
});
afterAll(() => collector.close());

async function post(body: unknown, init: { raw?: string; key?: string | null; contentType?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? API_KEY}`;
  const response = await fetch(`${collector.url}/v1/events`, { method: 'POST', headers, body: init.raw ?? JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /v1/events', () => {
  it('accepts the valid events of a mixed batch, rejects each bad one naming the field, and only the valid reach Kafka', async () => {
    const good = [pageView(), npsResponse(9, { customer_id: 'cust-2' })];
    const batch = [
      good[0],
      { ...pageView(), type: 'click' },
      npsResponse(11),
      { ...pageView(), occurred_at: new Date(Date.now() + 3_600_000).toISOString().replace('.000', '') },
      good[1],
    ];
    const wrongType: Record<string, unknown> = { ...pageView(), properties: { url: 'https://shop.example/', duration_ms: 'long' } };
    const first = await post(batch);
    const second = await post([wrongType]);

    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: 2, rejected: 3 });
    expect(
      (first.body.results as unknown[]).map((r) => (r as { status: string; errors?: unknown }).errors ?? (r as { status: string }).status),
    ).toEqual([
      'accepted',
      [
        {
          path: 'type',
          message: 'type must be one of page_view, form_submission, purchase, survey_response, review, social_engagement, cart, identify',
        },
      ],
      [{ path: 'properties.score', message: 'nps score must be 0–10, got 11' }],
      [
        {
          path: 'occurred_at',
          message: expect.stringMatching(/^is 3\d{3} s in the future; at most 300 s of clock skew is allowed$/) as unknown,
        },
      ],
      'accepted',
    ]);
    expect(second).toEqual({
      status: 422,
      body: {
        error: 'no event was accepted: properties.duration_ms: must be a number of milliseconds',
        accepted: 0,
        rejected: 1,
        results: [
          {
            index: 0,
            status: 'rejected',
            event_id: wrongType.event_id,
            errors: [{ path: 'properties.duration_ms', message: 'must be a number of milliseconds' }],
          },
        ],
      },
    });

    const landed = await readEvents(kafka, registry, topics.events.name, 2);
    expect(landed.map((e) => e.event_id).sort()).toEqual(good.map((e) => e.event_id).sort());
  });

  it('produces a repeated event_id once, and says which was the duplicate', async () => {
    const event = pageView({ customer_id: 'dup' });
    const reply = await post([event, event]);
    expect(reply.body.results).toEqual([
      { index: 0, status: 'accepted', event_id: event.event_id, duplicate: false },
      { index: 1, status: 'accepted', event_id: event.event_id, duplicate: true },
    ]);
  });

  it.each([
    ['a body that is not JSON', { raw: '{"event_id": ' }, 400, /^body is not valid JSON: /],
    ['a JSON scalar', { raw: '42' }, 400, /^body must be one event object or a JSON array of events$/],
    ['an empty array', { raw: '[]' }, 400, /^the array of events is empty$/],
    [
      'too many events',
      { raw: JSON.stringify(Array.from({ length: 6 }, () => pageView())) },
      413,
      /^6 events in one request; at most 5 are allowed$/,
    ],
    ['an oversize body', { raw: JSON.stringify([pageView({ channel: 'x'.repeat(5000) })]) }, 413, /^body is larger than 4096 bytes$/],
    ['no API key', { raw: '[]', key: null }, 401, /^missing or unknown API key: send Authorization: Bearer <key>$/],
    ['a wrong API key', { raw: '[]', key: 'not-the-key-at-all-0000' }, 401, /^missing or unknown API key/],
    [
      'form-encoded content',
      { raw: 'a=b', contentType: 'application/x-www-form-urlencoded' },
      415,
      /^Content-Type must be application\/json$/,
    ],
  ])('refuses %s with a clear message', async (_name, init, status, message) => {
    const reply = await post(undefined, init);
    expect(reply.status).toBe(status);
    expect(reply.body.error).toMatch(message);
  });
});

describe('health', () => {
  it('is healthy and ready when Kafka and the registry answer', async () => {
    const [health, ready] = await Promise.all([fetch(`${collector.url}/healthz`), fetch(`${collector.url}/readyz`)]);
    expect([health.status, await health.json(), ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ok' },
      200,
      { status: 'ready', dependencies: { kafka: 'up', registry: 'up' } },
    ]);
  });
});
