/**
 * The event contract as backends send it (JSON) and as journeyline carries it (Avro, see
 * avro/journey-event.avsc, the source of truth for shape). This file adds what Avro cannot say:
 * ranges, formats and cross-field rules, with error paths that name the field. The enum lists and
 * field sets below are checked against the .avsc by event-contract.test.ts, so they cannot drift.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const JOURNEY_EVENT_AVSC: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(new URL('./avro/journey-event.avsc', import.meta.url), 'utf8'),
) as Record<string, unknown>;

export const EVENT_TYPES = [
  'page_view',
  'form_submission',
  'purchase',
  'survey_response',
  'review',
  'social_engagement',
  'cart',
  'identify',
] as const;
/** Where a review was written. */
export const REVIEW_SOURCES = ['google_maps', 'app_store', 'play_store', 'site', 'marketplace', 'other'] as const;
/** What a customer did on a social network. */
export const SOCIAL_ACTIONS = ['like', 'share', 'comment', 'video_view', 'reply'] as const;
/**
 * The networks engagement is counted by: a closed list, so a sender cannot grow the per-network
 * counts of a window without bound; anything else is `other`.
 */
export const SOCIAL_NETWORKS = [
  'instagram',
  'telegram',
  'whatsapp',
  'x',
  'facebook',
  'linkedin',
  'youtube',
  'tiktok',
  'aparat',
  'eitaa',
  'rubika',
  'bale',
  'other',
] as const;
/** Steps in the cart; `checkout_started` (like a view of a checkout page) opens a checkout. */
export const CART_ACTIONS = ['add_to_cart', 'remove_from_cart', 'checkout_started'] as const;
export const PAGE_TYPES = ['home', 'product', 'pricing', 'blog', 'checkout', 'support', 'other'] as const;
export const FORM_TYPES = ['newsletter', 'contact', 'demo_request', 'signup', 'lead', 'support', 'other'] as const;
export const SURVEY_TYPES = ['nps', 'csat', 'ces'] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One calendar day of UTC time; every duration in days is counted with this. */
export const DAY_MS = 86_400_000;

/** The Avro record that carries each event type's properties. */
export const PROPERTIES_RECORD: Readonly<Record<EventType, string>> = {
  page_view: 'dev.journeyline.events.PageView',
  form_submission: 'dev.journeyline.events.FormSubmission',
  purchase: 'dev.journeyline.events.Purchase',
  survey_response: 'dev.journeyline.events.SurveyResponse',
  review: 'dev.journeyline.events.Review',
  social_engagement: 'dev.journeyline.events.SocialEngagement',
  cart: 'dev.journeyline.events.CartActivity',
  identify: 'dev.journeyline.events.Identify',
};

/** Score ranges on each survey's default scale (NPS has one scale only). */
export const SCORE_RANGE: Readonly<Record<(typeof SURVEY_TYPES)[number], readonly [number, number]>> = {
  nps: [0, 10],
  csat: [1, 5],
  ces: [1, 5],
};
/** Points a CSAT or CES survey may be asked on (`properties.scale`; absent: 5); scores run 1 … scale. */
export const SURVEY_SCALES = { csat: [5, 7, 10], ces: [5, 7] } as const;
/**
 * How a CES question is put: `effort` ("how much effort…", 1 = very low effort, lower is better;
 * the default) or `agreement` ("the company made it easy…", 1 = strongly disagree, higher is better).
 */
export const CES_FORMS = ['effort', 'agreement'] as const;

const ISO_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;

/**
 * Event times journeyline accepts anywhere, whatever the edge's settings: nothing before 2000
 * (a year-0999 or 1900 time is a sender's bug, and calendar arithmetic on it fails), nothing
 * from 2100 on. The edge narrows this further (EventTimeBounds).
 */
export const EARLIEST_EVENT_TIME = Date.parse('2000-01-01T00:00:00Z');
export const LATEST_EVENT_TIME = Date.parse('2100-01-01T00:00:00Z');
/** Whether epoch ms fall within EARLIEST_EVENT_TIME … LATEST_EVENT_TIME, as every event time must. */
const isEventTime = (at: number): boolean => at >= EARLIEST_EVENT_TIME && at < LATEST_EVENT_TIME;

/** The segment of every segment together, in KPI windows and analysts' tables. */
export const ALL_SEGMENTS = '*';
/** The segment of customers whose events never named one. */
export const UNASSIGNED_SEGMENT = 'unassigned';
/** So no sender's segment can pass for either. */
export const RESERVED_SEGMENTS: readonly string[] = [ALL_SEGMENTS, UNASSIGNED_SEGMENT];

// C0/C1 controls; free text may still hold tab, line feed and carriage return.
const CONTROL = /\p{Cc}/u;
const TEXT_CONTROL = /(?![\t\n\r])\p{Cc}/u;
// A character someone can see: not white space, not a format character (zero-width space, joiners, BOM).
const VISIBLE = /[^\s\p{Z}\p{Cf}]/u;
// Printable ASCII without spaces: what most ids are, and nothing the checks below refuse.
const PLAIN_ID = /^[\x21-\x7e]+$/;

/**
 * An identifier, taken exactly as sent: no trimming, no Unicode normalisation (two spellings of a
 * name are two ids). Refused rather than altered: malformed UTF-16 (a lone surrogate would become
 * U+FFFD in Avro and merge customers), control characters, white space at either end, and ids with
 * nothing visible. Zero-width joiners inside a name stay: Persian writes with them.
 */
const id = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty', abort: true })
    .max(max, { error: `must be at most ${max} characters`, abort: true })
    // A check on the parse itself, not superRefine: that made a closure per id checked (several per event).
    .check((ctx) => {
      const { value } = ctx;
      if (PLAIN_ID.test(value)) return;
      const problem = !value.isWellFormed()
        ? 'must be well-formed Unicode (it holds a lone surrogate)'
        : CONTROL.test(value)
          ? 'must not contain control characters'
          : value !== value.trim()
            ? 'must not start or end with white space'
            : !VISIBLE.test(value)
              ? 'must contain a visible character'
              : undefined;
      if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: value });
    });

/** Free text (comments, referrers): surrounding white space is trimmed; malformed Unicode and controls other than tab and line breaks are refused. */
const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .refine((value) => value.isWellFormed(), 'must be well-formed Unicode (it holds a lone surrogate)')
    .refine((value) => !TEXT_CONTROL.test(value), 'must not contain control characters other than tab and line breaks')
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);
/** Absent, null and a value all arrive; Avro's optional fields want null for "absent". */
const optional = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);

const pageView = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).max(4096, 'must be at most 4096 characters'),
  page_type: z.enum(PAGE_TYPES, { error: `must be one of ${PAGE_TYPES.join(', ')}` }).default('other'),
  referrer: optional(text(4096)),
  duration_ms: optional(
    z
      .number({ error: 'must be a number of milliseconds' })
      .int('must be a whole number of milliseconds')
      .min(0, 'must be >= 0')
      .max(MAX_DURATION_MS, 'must be at most 7 days'),
  ),
  cta_shown: z.boolean({ error: 'must be true or false' }).default(false),
  cta_clicked: z.boolean({ error: 'must be true or false' }).default(false),
});

/** How the customer heard of the business ("how did you hear about us"): a short id such as instagram or friend. */
const referralSource = optional(id(64));

const formSubmission = z.strictObject({
  form_id: id(256),
  form_type: z.enum(FORM_TYPES, { error: `must be one of ${FORM_TYPES.join(', ')}` }).default('other'),
  referral_source: referralSource,
});

/** Significant digits a JSON number (an IEEE double) carries exactly. */
const EXACT_NUMBER_DIGITS = 15;

/**
 * Money stays exact: a decimal string with at most 4 places. A JSON number is accepted only when
 * it has at most 15 significant digits: a longer one was already rounded by the JSON parser.
 */
const amount = z.union([z.string(), z.number()], { error: 'must be a decimal number or string, e.g. "19.99"' }).transform((value, ctx) => {
  const asText = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : 'NaN') : value.trim();
  if (!/^\d{1,14}(\.\d{1,4})?$/.test(asText)) {
    ctx.addIssue({ code: 'custom', message: 'must be a decimal >= 0 with at most 14 digits before and 4 after the point' });
    return z.NEVER;
  }
  if (typeof value === 'number' && asText.replace('.', '').replace(/^0+/, '').length > EXACT_NUMBER_DIGITS) {
    ctx.addIssue({
      code: 'custom',
      message: `has more than ${EXACT_NUMBER_DIGITS} significant digits, which a JSON number cannot hold exactly: send it as a string, e.g. "${asText}"`,
    });
    return z.NEVER;
  }
  return asText;
});

const purchase = z.strictObject({
  order_id: id(256),
  amount,
  currency: z.string().refine((code) => ISO_CURRENCIES.has(code), 'must be an ISO 4217 currency code, e.g. EUR'),
  items: optional(z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be >= 1').max(1_000_000)),
});

const surveyResponse = z
  .strictObject({
    survey_type: z.enum(SURVEY_TYPES, { error: `must be one of ${SURVEY_TYPES.join(', ')}` }),
    score: z.number({ error: 'must be a whole number' }).int('must be a whole number'),
    comment: optional(text(10_000)),
    scale: optional(z.number({ error: 'must be a whole number' }).int('must be a whole number')),
    ces_form: optional(z.enum(CES_FORMS, { error: `must be one of ${CES_FORMS.join(', ')}` })),
    referral_source: referralSource,
  })
  .superRefine((survey, ctx) => {
    const kind = survey.survey_type;
    if (survey.scale !== null) {
      const scales: readonly number[] | undefined = kind === 'nps' ? undefined : SURVEY_SCALES[kind];
      if (scales === undefined || !scales.includes(survey.scale)) {
        ctx.addIssue({
          code: 'custom',
          path: ['scale'],
          message: scales === undefined ? 'nps has one scale (0–10): leave scale out' : `${kind} scale must be one of ${scales.join(', ')}`,
        });
        return;
      }
    }
    if (survey.ces_form !== null && kind !== 'ces')
      ctx.addIssue({ code: 'custom', path: ['ces_form'], message: 'only a ces survey has a form' });
    const [min, defaultMax] = SCORE_RANGE[kind];
    const max = survey.scale ?? defaultMax;
    if (survey.score < min || survey.score > max) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${kind} score must be ${min}–${max}, got ${survey.score}` });
    }
  });

/** A public review: a rating of 1–5 stars, its text, and where it was written. */
const review = z.strictObject({
  rating: z
    .number({ error: 'must be a whole number of stars' })
    .int('must be a whole number of stars')
    .min(1, 'must be 1–5')
    .max(5, 'must be 1–5'),
  comment: optional(text(10_000)),
  source: z.enum(REVIEW_SOURCES, { error: `must be one of ${REVIEW_SOURCES.join(', ')}` }).default('other'),
});

/** A like, share, comment, video view or reply on a social network; comments and replies may carry their text. */
const socialEngagement = z
  .strictObject({
    action: z.enum(SOCIAL_ACTIONS, { error: `must be one of ${SOCIAL_ACTIONS.join(', ')}` }),
    network: z.enum(SOCIAL_NETWORKS, { error: `must be one of ${SOCIAL_NETWORKS.join(', ')}` }).default('other'),
    post_id: optional(id(256)),
    comment: optional(text(10_000)),
  })
  .superRefine((engagement, ctx) => {
    if (engagement.comment !== null && engagement.action !== 'comment' && engagement.action !== 'reply')
      ctx.addIssue({ code: 'custom', path: ['comment'], message: 'only a comment or a reply has text' });
  });

const cart = z.strictObject({
  action: z.enum(CART_ACTIONS, { error: `must be one of ${CART_ACTIONS.join(', ')}` }),
  cart_id: optional(id(256)),
  product_id: optional(id(256)),
  quantity: optional(z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be >= 1').max(1_000_000)),
});

/** The visitor behind an anonymous id signed in or up: it links the two ids and counts nothing else. */
const identify = z.strictObject({ method: optional(id(64)) });

/** An event time as a backend sends it: ISO-8601 with an offset, read as epoch ms. */
const sentTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 date-time with a UTC offset, e.g. 2026-11-23T10:15:00+01:00' })
  .transform((iso) => Date.parse(iso))
  .refine(isEventTime, 'must be from 2000-01-01 up to (not including) 2100-01-01');

const envelope = {
  event_id: z.uuid({ error: 'must be a UUID' }),
  occurred_at: sentTime,
  customer_id: optional(id(256)),
  anonymous_id: optional(id(256)),
  session_id: optional(id(256)),
  segment: optional(
    id(128).refine(
      (segment) => !RESERVED_SEGMENTS.includes(segment),
      `${RESERVED_SEGMENTS.map((s) => `'${s}'`).join(' and ')} are reserved segment names`,
    ),
  ),
  channel: optional(id(64)),
};

/** An event with neither id: whose it is cannot be known. A fresh issue each time (zod extends paths in place). */
const noId = () => ({ path: ['customer_id'], message: 'at least one of customer_id and anonymous_id is required' });

/** An event time on Kafka out of range: what the Avro readers (fromAvro, identityFromAvro) say. */
const EPOCH_MS_RANGE = 'must be epoch milliseconds from 2000-01-01 up to 2100-01-01';
/** An event time as journeyline carries it (Avro's timestamp-millis). */
const carriedTime = z.number({ error: EPOCH_MS_RANGE }).refine(isEventTime, EPOCH_MS_RANGE);

/**
 * The event contract with its time read by `occurredAt`: as sent (ISO-8601) or as carried (epoch
 * ms), so what Kafka holds is checked without a round trip through a date string.
 */
const eventWith = (occurredAt: typeof sentTime | typeof carriedTime) => {
  const variant = <T extends EventType, P extends z.ZodType>(type: T, properties: P) =>
    z.strictObject({ ...envelope, occurred_at: occurredAt, type: z.literal(type), properties });
  return z
    .discriminatedUnion(
      'type',
      [
        variant('page_view', pageView),
        variant('form_submission', formSubmission),
        variant('purchase', purchase),
        variant('survey_response', surveyResponse),
        variant('review', review),
        variant('social_engagement', socialEngagement),
        variant('cart', cart),
        variant('identify', identify),
      ],
      { error: `type must be one of ${EVENT_TYPES.join(', ')}` },
    )
    .superRefine((event, ctx) => {
      if (event.customer_id === null && event.anonymous_id === null) ctx.addIssue({ code: 'custom', ...noId() });
      if (event.type === 'identify') {
        for (const field of ['customer_id', 'anonymous_id'] as const)
          if (event[field] === null)
            ctx.addIssue({ code: 'custom', path: [field], message: 'an identify event links both ids: it needs this one' });
      }
    });
};
const incomingEvent = eventWith(sentTime);
const carriedEvent = eventWith(carriedTime);

type Incoming = z.output<typeof incomingEvent>;

/** What identity stitching reads of an event: its ids and time, nothing else. */
export const IDENTITY_FIELDS = ['event_id', 'occurred_at', 'customer_id', 'anonymous_id'] as const;
export type EventIdentity = Pick<JourneyEvent, (typeof IDENTITY_FIELDS)[number]>;

/**
 * The Avro schema of an event read for its identity alone: the same record with only
 * IDENTITY_FIELDS, so a reader skips the rest instead of building it (Avro resolution).
 */
export const EVENT_IDENTITY_AVSC: Readonly<Record<string, unknown>> = {
  ...JOURNEY_EVENT_AVSC,
  fields: (JOURNEY_EVENT_AVSC.fields as readonly { name: string }[]).filter((f) => (IDENTITY_FIELDS as readonly string[]).includes(f.name)),
};

const eventIdentity = z
  .strictObject({
    event_id: envelope.event_id,
    occurred_at: carriedTime,
    customer_id: envelope.customer_id,
    anonymous_id: envelope.anonymous_id,
  })
  .refine((ids) => ids.customer_id !== null || ids.anonymous_id !== null, noId());

/**
 * An event's identity as the Avro record of EVENT_IDENTITY_AVSC carries it, checked by the same
 * rules as the whole event's ids: what the identity step routes by. The rest of the event is the
 * journey step's to check (fromAvro).
 */
export function identityFromAvro(record: unknown): { ok: true; identity: EventIdentity } | { ok: false; errors: FieldError[] } {
  const parsed = eventIdentity.safeParse(typeof record === 'object' && record !== null ? { ...record } : record);
  if (parsed.success) return { ok: true, identity: parsed.data };
  return { ok: false, errors: parsed.error.issues.map((issue) => ({ path: pathOf(issue.path), message: issue.message })) };
}
/** An event as journeyline carries it: times in epoch ms, absent optionals as null. */
export type JourneyEvent = Incoming & { received_at: number };
export type EventOf<T extends EventType> = Extract<JourneyEvent, { type: T }>;

export interface FieldError {
  /** Dotted path into the event as sent, e.g. `properties.score`; empty for the whole event. */
  readonly path: string;
  readonly message: string;
}

export type Validation = { ok: true; event: JourneyEvent } | { ok: false; errors: FieldError[] };

/** How far from the time of receipt an event time may be; the edge's settings. */
export interface EventTimeBounds {
  /** Sender clock skew tolerated into the future. */
  readonly maxFutureSkewMs: number;
  /** How old an event may be when it arrives (backfills included). */
  readonly maxPastMs: number;
}

export interface ValidationContext extends EventTimeBounds {
  /** Time of receipt (epoch ms): stamps received_at and bounds event times. */
  readonly now: number;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** The free text an event carries for its sentiment to be read: a survey's, review's or social comment's. */
export function commentOf(event: JourneyEvent): string | null {
  return event.type === 'survey_response' || event.type === 'review' || event.type === 'social_engagement'
    ? event.properties.comment
    : null;
}

/** A failed parse as errors naming fields as sent (unknown keys listed by name). */
function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: pathOf(issue.path),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
}

/** Validates one event as a backend sent it. Pure: the clock comes in through `context`. */
export function validateEvent(input: unknown, context: ValidationContext): Validation {
  const parsed = incomingEvent.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrorsOf(parsed.error) };
  const skewMs = parsed.data.occurred_at - context.now;
  if (skewMs > context.maxFutureSkewMs) {
    const message = `is ${Math.round(skewMs / 1000)} s in the future; at most ${Math.round(context.maxFutureSkewMs / 1000)} s of clock skew is allowed`;
    return { ok: false, errors: [{ path: 'occurred_at', message }] };
  }
  if (-skewMs > context.maxPastMs) {
    const message = `is ${Math.floor(-skewMs / DAY_MS)} days old; events older than ${Math.floor(context.maxPastMs / DAY_MS)} days are not accepted (EVENT_MAX_PAST_DAYS)`;
    return { ok: false, errors: [{ path: 'occurred_at', message }] };
  }
  return { ok: true, event: { ...parsed.data, received_at: context.now } };
}

/**
 * Anonymous ids that name no one: what a client sends when it has none (`null`, `undefined`,
 * `[object Object]`, ...). They never link to a customer (identity stitching), and never decide
 * where an event goes. Compared case-insensitively; IDENTITY_BLOCKED_ANONYMOUS_IDS adds to them.
 */
export const JUNK_ANONYMOUS_IDS: readonly string[] = [
  'null',
  'undefined',
  '0',
  '-1',
  'nan',
  'none',
  'anonymous',
  '[object object]',
  '00000000-0000-0000-0000-000000000000',
];
const JUNK = new Set(JUNK_ANONYMOUS_IDS);
/** Whether an anonymous id is junk: built in, or in `blocked` (lower case). */
export const isJunkAnonymousId = (id: string, blocked: ReadonlySet<string> = new Set()): boolean => {
  const lower = id.toLowerCase();
  return JUNK.has(lower) || blocked.has(lower);
};

/** The key of an identity's state: the customer, else `anon:<anonymous_id>`. */
export function identityKeyOf(event: Pick<JourneyEvent, 'customer_id' | 'anonymous_id'>): string {
  return event.customer_id ?? `anon:${event.anonymous_id ?? ''}`;
}

/**
 * The events topic's key: the anonymous id when there is one (not junk), else the customer, so
 * every event of one visitor reaches the same partition of the identity step, which links it to a
 * customer and forwards it keyed by customer (services/processor/identity).
 */
export function partitionKeyOf(event: Pick<JourneyEvent, 'customer_id' | 'anonymous_id'>): string {
  const anonymous = event.anonymous_id;
  return anonymous !== null && !isJunkAnonymousId(anonymous) ? `anon:${anonymous}` : identityKeyOf(event);
}

/** Avro wraps a union of records in an object keyed by the record's full name. */
export type AvroJourneyEvent = Omit<JourneyEvent, 'properties'> & { properties: Record<string, unknown> };

export function toAvro(event: JourneyEvent): AvroJourneyEvent {
  return { ...event, properties: { [PROPERTIES_RECORD[event.type]]: event.properties } };
}

/**
 * Back from the Avro shape, checking what the schema cannot: that `properties` is the record
 * `type` names, and the ranges and formats above. A message that fails is a poison message.
 */
export function fromAvro(record: unknown): Validation {
  if (typeof record !== 'object' || record === null) return { ok: false, errors: [{ path: '', message: 'not a record' }] };
  const { properties, occurred_at, received_at, ...rest } = record as Record<string, unknown>;
  const type = (rest as { type?: unknown }).type;
  const wrapped = (properties ?? {}) as Record<string, unknown>;
  const branch = Object.keys(wrapped)[0];
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type) || branch !== PROPERTIES_RECORD[type as EventType]) {
    return { ok: false, errors: [{ path: 'properties', message: `record ${branch ?? '(none)'} does not match type ${String(type)}` }] };
  }
  if (typeof received_at !== 'number' || !isEventTime(received_at))
    return { ok: false, errors: [{ path: 'received_at', message: EPOCH_MS_RANGE }] };
  // Spread into plain objects: avsc hands back class instances whose prototype methods a strict
  // key check would take for unknown fields. The edge's own time bounds were its to apply.
  const parsed = carriedEvent.safeParse({ ...rest, occurred_at, properties: { ...(wrapped[branch] as object) } });
  if (!parsed.success) return { ok: false, errors: fieldErrorsOf(parsed.error) };
  return { ok: true, event: { ...parsed.data, received_at } };
}
