/**
 * Holds the zod contract and the Avro schema to each other (enum symbols, fields, optionality),
 * round-trips every event type through Avro, and pins the validation messages backends see.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  EVENT_TYPES,
  FORM_TYPES,
  JOURNEY_EVENT_AVSC,
  PAGE_TYPES,
  PROPERTIES_RECORD,
  REVIEW_SOURCES,
  SOCIAL_ACTIONS,
  SOCIAL_NETWORKS,
  CART_ACTIONS,
  SURVEY_TYPES,
  fromAvro,
  EVENT_IDENTITY_AVSC,
  identityFromAvro,
  identityKeyOf,
  partitionKeyOf,
  toAvro,
  validateEvent,
  type JourneyEvent,
} from './event-contract.ts';
import { eventSchemaWithout } from '../test/helpers/schemas.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const context = { now: NOW, maxFutureSkewMs: 300_000, maxPastMs: 365 * DAY_MS };
const avroType = avro.Type.forSchema(JOURNEY_EVENT_AVSC as avro.Schema);

type Json = Record<string, unknown>;
const base = {
  event_id: '7d444840-9dc0-11d1-b245-5ffdce74fad2',
  occurred_at: '2026-11-23T12:15:00+01:00',
  customer_id: 'c-1',
  session_id: 's-1',
};
export const SAMPLES: Record<(typeof EVENT_TYPES)[number], Json> = {
  page_view: {
    ...base,
    type: 'page_view',
    properties: { url: 'https://shop.example/p/1', page_type: 'product', duration_ms: 4200, cta_shown: true },
  },
  form_submission: { ...base, type: 'form_submission', properties: { form_id: 'demo', form_type: 'demo_request' } },
  purchase: { ...base, type: 'purchase', segment: 'smb', properties: { order_id: 'o-1', amount: '119.90', currency: 'EUR', items: 2 } },
  survey_response: { ...base, type: 'survey_response', properties: { survey_type: 'nps', score: 9, comment: 'Great service' } },
  review: { ...base, type: 'review', properties: { rating: 2, comment: 'خیلی دیر رسید', source: 'google_maps' } },
  social_engagement: {
    ...base,
    type: 'social_engagement',
    channel: 'social',
    properties: { action: 'comment', network: 'instagram', post_id: 'p-9', comment: 'عالی بود 😍' },
  },
  cart: { ...base, type: 'cart', properties: { action: 'checkout_started', cart_id: 'k-1', product_id: 'sku-1', quantity: 2 } },
  identify: { ...base, type: 'identify', anonymous_id: 'دستگاه-۷', properties: { method: 'login' } },
};

function accepted(input: unknown): JourneyEvent {
  const result = validateEvent(input, context);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.event;
}

function avroRecord(name: string): { fields: { name: string; type: unknown; default?: unknown }[] } {
  const found = (function search(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(search).find(Boolean);
    if (typeof node !== 'object' || node === null) return undefined;
    const record = node as Json;
    if (record.name === name && (record.type === 'record' || record.type === 'enum')) return record;
    return Object.values(record).map(search).find(Boolean);
  })(JOURNEY_EVENT_AVSC);
  if (found === undefined) throw new Error(`no ${name} in the .avsc`);
  return found as { fields: { name: string; type: unknown }[] };
}

const symbolsOf = (name: string) => (avroRecord(name) as unknown as { symbols: string[] }).symbols;
const isNullable = (type: unknown) => Array.isArray(type) && type.includes('null');

describe('the zod contract matches the Avro schema', () => {
  it('has the same enum symbols', () => {
    expect({ EVENT_TYPES, PAGE_TYPES, FORM_TYPES, SURVEY_TYPES, REVIEW_SOURCES, SOCIAL_ACTIONS, SOCIAL_NETWORKS, CART_ACTIONS }).toEqual({
      EVENT_TYPES: symbolsOf('EventType'),
      PAGE_TYPES: symbolsOf('PageType'),
      FORM_TYPES: symbolsOf('FormType'),
      SURVEY_TYPES: symbolsOf('SurveyType'),
      REVIEW_SOURCES: symbolsOf('ReviewSource'),
      SOCIAL_ACTIONS: symbolsOf('SocialAction'),
      SOCIAL_NETWORKS: symbolsOf('SocialNetwork'),
      CART_ACTIONS: symbolsOf('CartAction'),
    });
  });

  it.each(EVENT_TYPES)('%s: every Avro field is produced, optional ones as null when absent', (type) => {
    const minimal = accepted({
      ...SAMPLES[type],
      session_id: undefined,
      segment: undefined,
      properties: Object.fromEntries(
        avroRecord(PROPERTIES_RECORD[type].split('.').pop() ?? '')
          .fields.filter((f) => !isNullable(f.type) && f.default === undefined)
          .map((f) => [f.name, (SAMPLES[type].properties as Json)[f.name]]),
      ),
    });
    const record = avroRecord(PROPERTIES_RECORD[type].split('.').pop() ?? '');
    expect(Object.keys(minimal.properties).sort()).toEqual(record.fields.map((f) => f.name).sort());
    for (const field of record.fields.filter((f) => isNullable(f.type))) {
      expect((minimal.properties as Json)[field.name], field.name).toBeNull();
    }
    const envelope = avroRecord('JourneyEvent')
      .fields.map((f) => f.name)
      .sort();
    expect(Object.keys(minimal).sort()).toEqual(envelope);
  });

  it.each(EVENT_TYPES)('%s round-trips through Avro binary unchanged', (type) => {
    const event = accepted(SAMPLES[type]);
    expect(avroType.isValid(toAvro(event))).toBe(true);
    const decoded: unknown = avroType.fromBuffer(avroType.toBuffer(toAvro(event)));
    expect(fromAvro(decoded)).toEqual({ ok: true, event });
  });
});

describe('validateEvent', () => {
  it('normalises a page view: UTC epoch times, defaults, nulls', () => {
    expect(accepted({ ...base, type: 'page_view', properties: { url: 'https://a.example/' } })).toEqual({
      event_id: base.event_id,
      type: 'page_view',
      occurred_at: Date.parse('2026-11-23T11:15:00Z'),
      received_at: NOW,
      customer_id: 'c-1',
      anonymous_id: null,
      session_id: 's-1',
      segment: null,
      channel: null,
      properties: {
        url: 'https://a.example/',
        page_type: 'other',
        referrer: null,
        duration_ms: null,
        cta_shown: false,
        cta_clicked: false,
      },
    });
  });

  it('keeps money exact and accepts numbers for it', () => {
    expect(accepted({ ...SAMPLES.purchase, properties: { order_id: 'o', amount: 19.99, currency: 'USD' } }).properties).toEqual({
      order_id: 'o',
      amount: '19.99',
      currency: 'USD',
      items: null,
    });
  });

  const rejected = (input: unknown) => {
    const result = validateEvent(input, context);
    return result.ok ? [] : result.errors;
  };

  it.each([
    [
      'an unknown type',
      { ...base, type: 'click', properties: {} },
      [
        {
          path: 'type',
          message: 'type must be one of page_view, form_submission, purchase, survey_response, review, social_engagement, cart, identify',
        },
      ],
    ],
    ['a missing event_id', { ...SAMPLES.form_submission, event_id: undefined }, [{ path: 'event_id', message: 'must be a UUID' }]],
    [
      'a time without offset',
      { ...SAMPLES.form_submission, occurred_at: '2026-11-23T12:00:00' },
      [{ path: 'occurred_at', message: 'must be an ISO-8601 date-time with a UTC offset, e.g. 2026-11-23T10:15:00+01:00' }],
    ],
    [
      'no customer or anonymous id',
      { ...SAMPLES.form_submission, customer_id: null },
      [{ path: 'customer_id', message: 'at least one of customer_id and anonymous_id is required' }],
    ],
    [
      'an out-of-range NPS score',
      { ...SAMPLES.survey_response, properties: { survey_type: 'nps', score: 11 } },
      [{ path: 'properties.score', message: 'nps score must be 0–10, got 11' }],
    ],
    [
      'a CES score of 0',
      { ...SAMPLES.survey_response, properties: { survey_type: 'ces', score: 0 } },
      [{ path: 'properties.score', message: 'ces score must be 1–5, got 0' }],
    ],
    [
      'a score of the wrong type',
      { ...SAMPLES.survey_response, properties: { survey_type: 'csat', score: '4' } },
      [{ path: 'properties.score', message: 'must be a whole number' }],
    ],
    [
      'a negative amount',
      { ...SAMPLES.purchase, properties: { order_id: 'o', amount: '-1', currency: 'EUR' } },
      [{ path: 'properties.amount', message: 'must be a decimal >= 0 with at most 14 digits before and 4 after the point' }],
    ],
    [
      'an unknown currency',
      { ...SAMPLES.purchase, properties: { order_id: 'o', amount: '1', currency: 'eur' } },
      [{ path: 'properties.currency', message: 'must be an ISO 4217 currency code, e.g. EUR' }],
    ],
    [
      'a negative duration',
      { ...SAMPLES.page_view, properties: { url: 'https://a.example', duration_ms: -5 } },
      [{ path: 'properties.duration_ms', message: 'must be >= 0' }],
    ],
    [
      'a relative URL',
      { ...SAMPLES.page_view, properties: { url: '/pricing' } },
      [{ path: 'properties.url', message: 'must be an absolute http(s) URL' }],
    ],
    [
      'a misspelt field',
      { ...SAMPLES.page_view, properties: { url: 'https://a.example', duraton_ms: 5 } },
      [{ path: 'properties', message: 'unknown field(s): duraton_ms' }],
    ],
    [
      'a time 1 h in the future',
      { ...SAMPLES.form_submission, occurred_at: '2026-11-23T13:00:00Z' },
      [{ path: 'occurred_at', message: 'is 3600 s in the future; at most 300 s of clock skew is allowed' }],
    ],
  ])('rejects %s, naming the field', (_name, input, errors) => {
    expect(rejected(input)).toEqual(errors);
  });

  it('allows clock skew up to the limit, and backfills up to the age limit', () => {
    expect(validateEvent({ ...SAMPLES.form_submission, occurred_at: '2026-11-23T12:04:59Z' }, context).ok).toBe(true);
    expect(validateEvent({ ...SAMPLES.form_submission, occurred_at: '2025-11-24T12:00:00Z' }, context).ok).toBe(true);
    expect(
      validateEvent(
        { ...SAMPLES.form_submission, occurred_at: '2020-01-01T00:00:00Z' },
        { ...context, maxPastMs: Number.POSITIVE_INFINITY },
      ).ok,
    ).toBe(true);
  });

  const ids = (field: string, value: unknown) => rejected({ ...SAMPLES.purchase, [field]: value });
  it.each([
    [
      'before year 1000',
      { ...SAMPLES.page_view, occurred_at: '0999-01-01T00:00:00Z' },
      'occurred_at',
      'must be from 2000-01-01 up to (not including) 2100-01-01',
    ],
    [
      'in 1900',
      { ...SAMPLES.page_view, occurred_at: '1900-06-01T00:00:00Z' },
      'occurred_at',
      'must be from 2000-01-01 up to (not including) 2100-01-01',
    ],
    [
      'older than the age limit',
      { ...SAMPLES.page_view, occurred_at: '2024-11-23T12:00:00Z' },
      'occurred_at',
      'is 730 days old; events older than 365 days are not accepted (EVENT_MAX_PAST_DAYS)',
    ],
    [
      'an amount number with 17 significant digits',
      { ...SAMPLES.purchase, properties: { order_id: 'o', amount: JSON.parse('12345678901234.567') as number, currency: 'EUR' } },
      'properties.amount',
      'has more than 15 significant digits, which a JSON number cannot hold exactly: send it as a string, e.g. "12345678901234.566"',
    ],
  ])('rejects an event %s', (_name, input, path, message) => {
    expect(rejected(input)).toEqual([{ path, message }]);
  });

  it('takes ids exactly as sent and refuses the ones it would have to alter', () => {
    expect(ids('customer_id', '\uD800c1')).toEqual([
      { path: 'customer_id', message: 'must be well-formed Unicode (it holds a lone surrogate)' },
    ]);
    expect(ids('customer_id', 'c\u00001')).toEqual([{ path: 'customer_id', message: 'must not contain control characters' }]);
    expect(ids('customer_id', '  c1  ')).toEqual([{ path: 'customer_id', message: 'must not start or end with white space' }]);
    expect(ids('customer_id', '\u200B\u200C')).toEqual([{ path: 'customer_id', message: 'must contain a visible character' }]);
    expect(ids('session_id', '')).toEqual([{ path: 'session_id', message: 'must not be empty' }]);
    expect(ids('segment', '*')).toEqual([{ path: 'segment', message: "'*' and 'unassigned' are reserved segment names" }]);
    expect(ids('segment', 'unassigned')).toEqual([{ path: 'segment', message: "'*' and 'unassigned' are reserved segment names" }]);
    // Persian and Arabic names, with the zero-width non-joiner Persian writes inside words.
    expect(accepted({ ...SAMPLES.purchase, customer_id: 'مشتری‌۴۲', segment: 'خرده‌فروشی', channel: 'متجر' })).toMatchObject({
      customer_id: 'مشتری‌۴۲',
      segment: 'خرده‌فروشی',
    });
  });

  it('refuses malformed Unicode and stray controls in free text', () => {
    const comment = (text: string) => rejected({ ...SAMPLES.survey_response, properties: { survey_type: 'nps', score: 9, comment: text } });
    expect(comment('bad \uDC00')).toEqual([
      { path: 'properties.comment', message: 'must be well-formed Unicode (it holds a lone surrogate)' },
    ]);
    expect(comment('a\u0000b')).toEqual([
      { path: 'properties.comment', message: 'must not contain control characters other than tab and line breaks' },
    ]);
    expect(comment('خیلی خوب بود\nممنون')).toEqual([]);
  });
});

describe('fromAvro', () => {
  it('refuses event times outside 2000–2100 that did not pass our edge, instead of throwing on them', () => {
    const event = accepted(SAMPLES.page_view);
    for (const occurred_at of [Date.parse('0999-01-01T00:00:00Z'), 9e15, -1]) {
      expect(fromAvro({ ...toAvro(event), occurred_at })).toEqual({
        ok: false,
        errors: [{ path: 'occurred_at', message: 'must be epoch milliseconds from 2000-01-01 up to 2100-01-01' }],
      });
    }
  });

  it('rejects a record whose properties are not the record its type names', () => {
    const event = accepted(SAMPLES.page_view);
    expect(fromAvro({ ...toAvro(event), type: 'purchase' })).toEqual({
      ok: false,
      errors: [{ path: 'properties', message: 'record dev.journeyline.events.PageView does not match type purchase' }],
    });
  });
});

describe('survey scales', () => {
  const survey = (properties: Json) => validateEvent({ ...base, type: 'survey_response', properties }, context);

  it('takes CSAT on 5, 7 or 10 points and CES on 5 or 7, as effort or agreement', () => {
    expect(survey({ survey_type: 'csat', score: 9, scale: 10 }).ok).toBe(true);
    expect(survey({ survey_type: 'ces', score: 7, scale: 7, ces_form: 'agreement' }).ok).toBe(true);
    expect(survey({ survey_type: 'csat', score: 4 })).toMatchObject({ ok: true, event: { properties: { scale: null, ces_form: null } } });
  });

  it.each([
    [{ survey_type: 'csat', score: 8 }, 'properties.score', 'csat score must be 1–5, got 8'],
    [{ survey_type: 'csat', score: 8, scale: 7 }, 'properties.score', 'csat score must be 1–7, got 8'],
    [{ survey_type: 'csat', score: 3, scale: 6 }, 'properties.scale', 'csat scale must be one of 5, 7, 10'],
    [{ survey_type: 'ces', score: 3, scale: 10 }, 'properties.scale', 'ces scale must be one of 5, 7'],
    [{ survey_type: 'nps', score: 3, scale: 10 }, 'properties.scale', 'nps has one scale (0–10): leave scale out'],
    [{ survey_type: 'csat', score: 3, ces_form: 'agreement' }, 'properties.ces_form', 'only a ces survey has a form'],
  ])('names what is wrong: %j', (properties, path, message) => {
    expect(survey(properties)).toEqual({ ok: false, errors: [{ path, message }] });
  });

  it("reads a survey written before scales (the previous schema) as today's 5-point effort scale", () => {
    // The schema as it was: SurveyResponse without scale and ces_form.
    const previous = eventSchemaWithout(['scale', 'ces_form']) as avro.Schema;
    const oldType = avro.Type.forSchema(previous);
    const envelope = toAvro(accepted({ ...base, type: 'survey_response', properties: { survey_type: 'ces', score: 2 } }));
    const written = oldType.toBuffer({
      ...envelope,
      properties: { [PROPERTIES_RECORD.survey_response]: { survey_type: 'ces', score: 2, comment: null } },
    });
    // A consumer with the writer's schema (as ours decode by schema id), and one with today's.
    for (const decoded of [oldType.fromBuffer(written), avroType.fromBuffer(written, avroType.createResolver(oldType))]) {
      expect(fromAvro(decoded)).toMatchObject({
        ok: true,
        event: { properties: { survey_type: 'ces', score: 2, scale: null, ces_form: null } },
      });
    }
  });
});

describe('reviews and referral sources', () => {
  const review = (properties: Json) => validateEvent({ ...base, type: 'review', properties }, context);

  it.each([
    [{ rating: 0 }, 'properties.rating', 'must be 1–5'],
    [{ rating: 6 }, 'properties.rating', 'must be 1–5'],
    [{ rating: 4.5 }, 'properties.rating', 'must be a whole number of stars'],
    [{ rating: 4, source: 'yelp' }, 'properties.source', `must be one of ${REVIEW_SOURCES.join(', ')}`],
  ])('names what is wrong in a review: %j', (properties, path, message) => {
    expect(review(properties)).toEqual({ ok: false, errors: [{ path, message }] });
  });

  it('takes a review without text or source, and a referral source on a sign-up form', () => {
    expect(review({ rating: 5 })).toMatchObject({ ok: true, event: { properties: { rating: 5, comment: null, source: 'other' } } });
    const signUp = validateEvent(
      { ...base, type: 'form_submission', properties: { form_id: 'signup', form_type: 'signup', referral_source: 'instagram' } },
      context,
    );
    expect(signUp).toMatchObject({ ok: true, event: { properties: { referral_source: 'instagram' } } });
    const tooLong = validateEvent(
      { ...base, type: 'form_submission', properties: { form_id: 'signup', referral_source: 'x'.repeat(65) } },
      context,
    );
    expect(tooLong).toMatchObject({ ok: false, errors: [{ path: 'properties.referral_source' }] });
  });
});

describe('social engagement and carts', () => {
  const social = (properties: Json) => validateEvent({ ...base, type: 'social_engagement', properties }, context);
  const cart = (properties: Json) => validateEvent({ ...base, type: 'cart', properties }, context);

  it.each([
    [social({ action: 'poke' }), 'properties.action', `must be one of ${SOCIAL_ACTIONS.join(', ')}`],
    [social({ action: 'like', network: 'myspace' }), 'properties.network', `must be one of ${SOCIAL_NETWORKS.join(', ')}`],
    [social({ action: 'like', comment: 'nice' }), 'properties.comment', 'only a comment or a reply has text'],
    [social({ action: 'reply', comment: '   ' }), 'properties.comment', 'must not be empty'],
    [cart({ action: 'checkout' }), 'properties.action', `must be one of ${CART_ACTIONS.join(', ')}`],
    [cart({ action: 'add_to_cart', quantity: 0 }), 'properties.quantity', 'must be >= 1'],
    [cart({ action: 'add_to_cart', product_id: ' sku' }), 'properties.product_id', 'must not start or end with white space'],
  ])('names what is wrong: %j', (result, path, message) => {
    expect(result).toEqual({ ok: false, errors: [{ path, message }] });
  });

  it('takes the least a sender knows: an action, the network `other` when unnamed', () => {
    expect(social({ action: 'video_view' })).toMatchObject({
      ok: true,
      event: { properties: { action: 'video_view', network: 'other', post_id: null, comment: null } },
    });
    expect(cart({ action: 'add_to_cart' })).toMatchObject({
      ok: true,
      event: { properties: { action: 'add_to_cart', cart_id: null, product_id: null, quantity: null } },
    });
  });

  it('still reads events written with the schema before these two types (the previous schema)', () => {
    // The schema as it was: no SocialEngagement and CartActivity branches, no such event types.
    const previous = eventSchemaWithout([
      'social_engagement',
      'cart',
      'identify',
      'SocialEngagement',
      'CartActivity',
      'Identify',
    ]) as avro.Schema;
    const oldType = avro.Type.forSchema(previous);
    const event = accepted(SAMPLES.review);
    const written = oldType.toBuffer(toAvro(event));
    // A consumer with the writer's schema (as ours decode by schema id), and one with today's.
    for (const decoded of [oldType.fromBuffer(written), avroType.fromBuffer(written, avroType.createResolver(oldType))]) {
      expect(fromAvro(decoded)).toEqual({ ok: true, event });
    }
    expect(() => oldType.toBuffer(toAvro(accepted(SAMPLES.cart)))).toThrow();
  });
});

describe('partitionKeyOf', () => {
  it('keys by anonymous visitor, else by customer; a junk anonymous id keys by customer', () => {
    const keys = [
      { customer_id: 'c', anonymous_id: 'a' },
      { customer_id: null, anonymous_id: 'a' },
      { customer_id: 'c', anonymous_id: null },
      { customer_id: 'c', anonymous_id: 'undefined' },
      { customer_id: 'c', anonymous_id: '[object Object]' },
      { customer_id: null, anonymous_id: 'NULL' },
    ].map(partitionKeyOf);
    expect(keys).toEqual(['anon:a', 'anon:a', 'c', 'c', 'c', 'anon:NULL']);
    expect(identityKeyOf({ customer_id: 'c', anonymous_id: 'a' })).toBe('c');
  });
});

describe('identityFromAvro', () => {
  it("reads an event's ids alone, from bytes written with the whole schema, by the same id rules", () => {
    const identityType = avro.Type.forSchema(EVENT_IDENTITY_AVSC as avro.Schema);
    const resolver = identityType.createResolver(avroType);
    const read = (event: JourneyEvent) => identityFromAvro(identityType.fromBuffer(avroType.toBuffer(toAvro(event)), resolver));
    const event = accepted(SAMPLES.identify);
    expect(read(event)).toEqual({
      ok: true,
      identity: { event_id: event.event_id, occurred_at: event.occurred_at, customer_id: 'c-1', anonymous_id: 'دستگاه-۷' },
    });
    expect(read({ ...event, anonymous_id: 'a\u0000b' })).toEqual({
      ok: false,
      errors: [{ path: 'anonymous_id', message: 'must not contain control characters' }],
    });
  });
});

describe('an identify event', () => {
  it('links an anonymous id to a customer, and needs both', () => {
    expect(accepted(SAMPLES.identify)).toMatchObject({
      type: 'identify',
      customer_id: 'c-1',
      anonymous_id: 'دستگاه-۷',
      properties: { method: 'login' },
    });
    const { anonymous_id: _a, ...customerOnly } = SAMPLES.identify;
    expect(validateEvent({ ...customerOnly, properties: {} }, context)).toEqual({
      ok: false,
      errors: [{ path: 'anonymous_id', message: 'an identify event links both ids: it needs this one' }],
    });
  });
});
