import { randomUUID } from 'node:crypto';
import { DAY_MS, validateEvent, type EventOf, type EventType } from '../../schemas/event-contract.ts';
import { eventId } from './event-ids.ts';

/**
 * The one builder of events for every test: `sentEvent` as a backend sends one (JSON, an ISO time,
 * absent optionals left out), `journeyEvent` as journeyline carries it (read by the contract itself:
 * times in epoch ms, absent optionals null), so a spec never holds an event the edge would refuse
 * and a field the contract adds is filled here once. A spec lays over the defaults only what its
 * case is about.
 */
export interface EventFields {
  /** The event's number: its id is `eventId(n)`. */
  readonly n?: number;
  /** occurred_at: epoch ms or ISO-8601. */
  readonly at?: number | string;
  readonly customer_id?: string | null;
  readonly anonymous_id?: string | null;
  readonly session_id?: string | null;
  readonly segment?: string | null;
  readonly channel?: string | null;
}

type Json = Record<string, unknown>;

/**
 * The properties each type requires, before what a spec lays over them (`id` is the event's id);
 * the rest take the contract's own defaults.
 */
const REQUIRED_PROPERTIES: { readonly [T in EventType]: (id: string) => Json } = {
  page_view: () => ({ url: 'https://shop.example/' }),
  form_submission: () => ({ form_id: 'f' }),
  purchase: (id) => ({ order_id: `o-${id}`, amount: '10', currency: 'EUR' }),
  survey_response: () => ({ survey_type: 'nps', score: 9 }),
  review: () => ({ rating: 4 }),
  social_engagement: () => ({ action: 'like' }),
  cart: () => ({ action: 'add_to_cart' }),
  identify: () => ({}),
};

/** When an event happened unless a spec says: fixed for the pure core's specs. */
export const DEFAULT_EVENT_TIME = Date.parse('2026-11-01T10:00:00Z');

const isoOf = (at: number | string) => (typeof at === 'string' ? at : new Date(at).toISOString());

/**
 * An event as a backend sends it. Without `n` its id is random: these go to a broker other specs
 * share. Optional envelope fields given as null are sent as null, left out when not given.
 */
export function sentEvent(type: EventType, fields: EventFields = {}, properties: Json = {}): Json {
  const id = fields.n === undefined ? randomUUID() : eventId(fields.n);
  const { n: _n, at, customer_id, anonymous_id, ...optional } = fields;
  return {
    event_id: id,
    type,
    occurred_at: isoOf(at ?? DEFAULT_EVENT_TIME),
    customer_id: customer_id === undefined ? 'c' : customer_id,
    anonymous_id: anonymous_id === undefined ? (type === 'identify' ? 'a' : null) : anonymous_id,
    ...optional,
    properties: { ...REQUIRED_PROPERTIES[type](id), ...properties },
  };
}

let lastNumber = 0;

/**
 * An event as journeyline carries it, received at `receivedAt` (by default its own time). Without
 * `n` it takes the next number of this file, in a range of ids apart from `eventId(n)`'s (variant 9
 * instead of 8), so a spec's own numbers never meet them; session `s1` and segment `smb` unless said.
 */
export function journeyEvent<T extends EventType>(
  type: T,
  fields: EventFields & { readonly received_at?: number } = {},
  properties: Partial<EventOf<T>['properties']> = {},
): EventOf<T> {
  const { received_at: receivedAt, ...sent } = fields;
  const event = sentEvent(type, { session_id: 's1', segment: 'smb', ...sent }, properties);
  if (fields.n === undefined) event.event_id = `00000000-0000-4000-9000-${String(++lastNumber).padStart(12, '0')}`;
  const occurredAt = Date.parse(event.occurred_at as string);
  const read = validateEvent(event, {
    now: receivedAt ?? occurredAt,
    maxFutureSkewMs: Number.POSITIVE_INFINITY,
    maxPastMs: Number.POSITIVE_INFINITY,
  });
  if (!read.ok) throw new Error(`not a valid ${type}: ${read.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return read.event as EventOf<T>;
}

/** A page view a minute old, as a backend sends it; `overrides` replace top-level fields. */
export function pageView(overrides: Json = {}): Json {
  return {
    ...sentEvent(
      'page_view',
      { at: Date.now() - 60_000, customer_id: 'cust-1', session_id: 'sess-1' },
      {
        url: 'https://shop.example/pricing',
        page_type: 'pricing',
        duration_ms: 1500,
      },
    ),
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
  const event = (customer: string, hour: number, type: EventType, properties: Json) =>
    sentEvent(
      type,
      {
        at: day.getTime() + hour * 3_600_000,
        customer_id: customer,
        segment: options.segment,
        session_id: `${customer}-s`,
        ...(options.channel !== undefined && { channel: options.channel }),
      },
      properties,
    );
  return { day: day.toISOString().slice(0, 10), event };
}
