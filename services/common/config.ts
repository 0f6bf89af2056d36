/**
 * Every setting journeyline reads, in one zod schema. Keys are the environment variable names,
 * so a validation error names exactly the variable to fix. `loadConfig` is called once at start
 * and the parsed `Config` is passed down; nothing else reads `process.env`.
 */
import path from 'node:path';
import { z } from 'zod';
import { ALERT_SIGNAL_NAMES } from '../../schemas/alert-records.ts';
import { FORM_TYPES } from '../../schemas/event-contract.ts';

/** `a, b,` → ['a', 'b']: comma-separated, blanks dropped. */
const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);

const csv = (fallback: string) =>
  z.string().default(fallback).transform(splitList).pipe(z.array(z.string()).min(1, 'must list at least one value'));

/** A comma-separated list that may be empty or unset. */
const optionalList = () =>
  z
    .string()
    .optional()
    .transform((s) => splitList(s ?? ''));
/** Bearer tokens: long enough that guessing is not a plan. */
const apiKeys = () => optionalList().pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')));
const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const bool = (fallback: boolean) => z.stringbool().default(fallback);
const secret = () => z.string().optional();
const optionalUrl = () =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s))
    .pipe(z.url().optional());
/** Heap sizes as the JVM spells them: 512m, 1g. */
const heap = (fallback: string) =>
  z
    .string()
    .regex(/^\d+[mg]$/, 'must look like 512m or 1g')
    .default(fallback);

/** A JSON value in a variable, then validated by `schema`; a parse error names the variable like any other. */
const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error: unknown) {
        context.addIssue({ code: 'custom', message: `not JSON: ${error instanceof Error ? error.message : String(error)}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** Per signal, what to change of its defaults (services/alerts/segment-alerts.ts DEFAULT_SIGNAL_SETTINGS). */
const signalOverride = z.strictObject({
  enabled: z.boolean().optional(),
  worse: z.enum(['up', 'down']).optional(),
  weight: z.number().min(0).max(100).optional(),
  alpha: z.number().gt(0).max(1).optional(),
  guardDays: z.number().int().min(0).max(30).optional(),
  warmupDays: z.number().int().min(1).max(365).optional(),
  sigmas: z.number().min(0).max(20).optional(),
  minChange: z.number().min(0).optional(),
  limit: z.number().nullable().optional(),
  minSample: z.number().int().min(1).optional(),
  forDays: z.number().int().min(1).max(30).optional(),
  keepFiringDays: z.number().int().min(1).max(30).optional(),
  cooldownDays: z.number().int().min(0).max(365).optional(),
});
const signalOverrides = z.partialRecord(z.enum(ALERT_SIGNAL_NAMES), signalOverride);

/** Where alert notifications go: a JSON body signed with `secret`, or Slack's incoming-webhook body. */
const webhook = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'letters, digits, . _ - (up to 64)'),
  url: z.url({ protocol: /^https?$/ }),
  format: z.enum(['json', 'slack']).default('json'),
  /** HMAC-SHA256 key of the signature header; a receiver that checks it knows the body is ours and recent. */
  secret: z.string().min(16, 'must be at least 16 characters').optional(),
});
export type WebhookSettings = z.infer<typeof webhook>;
const webhooks = z
  .array(webhook)
  .max(20)
  .refine((list) => new Set(list.map((w) => w.name)).size === list.length, 'webhook names must be unique')
  .refine((list) => list.every((w) => w.format === 'slack' || w.secret !== undefined), 'a json webhook needs a secret');

export const envSchema = z.object({
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** auto: readable lines on a terminal, JSON otherwise; json or pretty: always that. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),

  /** auto: endpoints from the environment if KAFKA_BROKERS and SCHEMA_REGISTRY_URL are set, else
   *  containers when a Docker engine answers, else the native launcher. */
  JOURNEY_STACK: z.enum(['auto', 'external', 'docker', 'native']).default('auto'),
  /** Prefix of every topic journeyline owns; tests use a unique one each. */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'may hold only letters, digits, . _ -')
    .default('journey.'),

  KAFKA_BROKERS: csv('127.0.0.1:9092'),
  /** Partitions for new topics: the most consumer instances that can share the work. */
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(6),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(10).default(1),
  KAFKA_CLIENT_ID: z.string().min(1).default('journeyline'),
  /** How long a service waits out Kafka unreachable (a broker restarting, a network split) before it stops, naming the cause. */
  KAFKA_OUTAGE_TOLERANCE_S: z.coerce.number().int().min(1).max(86_400).default(300),
  KAFKA_SSL: bool(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: secret(),

  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_USERNAME: z.string().optional(),
  SCHEMA_REGISTRY_PASSWORD: secret(),

  COLLECTOR_HOST: z.string().min(1).default('127.0.0.1'),
  COLLECTOR_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Bearer tokens the collector accepts. Required by `journey run collector`; `npm start` makes one if unset. */
  COLLECTOR_API_KEYS: apiKeys(),
  COLLECTOR_MAX_EVENTS: z.coerce.number().int().min(1).max(100_000).default(500),
  COLLECTOR_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** A client must send its headers within this, and its whole request within the next: slow clients are dropped. */
  COLLECTOR_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(10_000),
  COLLECTOR_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** How long the collector waits for Kafka to acknowledge a request's events before it answers 503 (Kafka down or frozen). */
  COLLECTOR_KAFKA_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Connections the collector holds at once (idle keep-alive ones included). */
  COLLECTOR_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  /** How far in the future an event time may be (sender clock skew) before it is refused. */
  EVENT_MAX_FUTURE_SKEW_S: z.coerce.number().int().min(0).default(300),
  /** How old an event may be when it arrives; older ones are refused (never before 2000 in any case). */
  EVENT_MAX_PAST_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),

  /** Days of the daily KPI windows end at this zone's midnight (IANA name, e.g. Asia/Tehran). */
  REPORTING_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as UTC or Europe/Berlin'),
  /** How long after a window's day ends (in stream time) late events still revise it. */
  ALLOWED_LATENESS_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(2 * 24 * 3600),
  /**
   * A checkout (a checkout_started cart event or a checkout page view) with no purchase this many
   * minutes after it started is abandoned. Keep it well inside ALLOWED_LATENESS_S, or a purchase
   * that completes a checkout late in a day may come after that day's window closed.
   */
  CHECKOUT_ABANDONED_AFTER_MIN: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  /** Converted customers with no event for this many days (event time) count as dormant. */
  DORMANT_AFTER_DAYS: z.coerce.number().int().min(1).default(30),
  /** Upper bound of one fetch per partition, hence of one processor batch (= one transaction). */
  PROCESSOR_MAX_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /**
   * A processor fetch waits for this many bytes (over its partitions)... Each batch is a
   * transaction and re-publishes every window it touched, so batches of a handful of events cost
   * more per event than fuller ones; the default takes whatever is there (lowest latency).
   */
  PROCESSOR_BATCH_MIN_BYTES: z.coerce.number().int().min(1).default(1),
  /** ...or until this long has passed (an idle fetch waits this long; so does a stop). */
  PROCESSOR_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(10).max(10_000).default(1000),
  /**
   * The KPI records of the days after tomorrow go out at most this often per partition (with a
   * batch, or alone once the partition goes quiet); tomorrow's and today's with every batch. A new
   * visitor moves its segment's rolling counts on each of the next 30 days: published with every
   * small batch, those KPI records were most of what the processor wrote at live rates. They are
   * previews: no alert judges a day before every partition reached it, and a view shows one only
   * where another partition is two days further on. 0: every batch.
   */
  PROCESSOR_FAR_AHEAD_EVERY_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  /**
   * Threads of one processor process, each a full processor (both steps) and so a member of both
   * consumer groups: Kafka shares the partitions out between them as between processes, and each
   * thread's JavaScript runs on a core of its own. More than the input topics' partitions leaves
   * some idle.
   */
  PROCESSOR_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** A crashed processor's partitions move to the survivors after this long without heartbeats. */
  PROCESSOR_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).default(30_000),
  /** A customer's event_ids are remembered (replays recognised) for events this many days before its newest... */
  PROCESSOR_DEDUP_WINDOW_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** ...and at most this many per customer; older events are set aside as late, never counted twice. */
  PROCESSOR_DEDUP_MAX_IDS: z.coerce.number().int().min(10).max(10_000).default(2000),
  /** Identity stitching: at most this many anonymous ids' histories merge into one customer; later ones are recorded as overflow. */
  IDENTITY_MAX_ANONYMOUS_IDS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Anonymous ids that never link, besides the built-in junk (null, undefined, 0, [object Object], …): comma-separated, any case. */
  IDENTITY_BLOCKED_ANONYMOUS_IDS: optionalList().transform((ids) => new Set(ids.map((id) => id.toLowerCase()))),
  /**
   * What a conversion is: `purchase` and/or `form:<form_type>` (newsletter, demo_request, signup, …),
   * comma-separated. It makes a customer's stage `conversion` and counts in the conversion rate.
   */
  CONVERSION_EVENTS: z
    .string()
    .default('purchase')
    .transform((text, context) => {
      const parts = splitList(text);
      const forms: (typeof FORM_TYPES)[number][] = [];
      let purchase = false;
      for (const part of parts) {
        const form = /^form:(.+)$/.exec(part)?.[1];
        if (part === 'purchase') purchase = true;
        else if (form !== undefined && (FORM_TYPES as readonly string[]).includes(form)) forms.push(form as (typeof FORM_TYPES)[number]);
        else context.addIssue({ code: 'custom', message: `${part} is neither purchase nor form:<${FORM_TYPES.join('|')}>` });
      }
      if (parts.length === 0) context.addIssue({ code: 'custom', message: 'name at least one conversion event' });
      return { purchase, forms };
    }),
  STAGE_CONSIDERATION_PRODUCT_VIEWS: z.coerce.number().int().min(1).default(3),
  STAGE_CONSIDERATION_SESSIONS: z.coerce.number().int().min(1).default(2),
  STAGE_ENGAGEMENT_AFTER_PURCHASE_H: z.coerce.number().positive().default(24),

  /** Churn alerting: per-signal changes to the defaults, as JSON, e.g. {"ces_mean":{"enabled":false},"detractor_share":{"minSample":50}}. */
  ALERT_SIGNALS: json(signalOverrides).default({}),
  /** Days of KPI history each segment's alerting keeps (the baseline learns from these). */
  ALERT_LOOKBACK_DAYS: z.coerce.number().int().min(14).max(400).default(60),
  /** Webhooks, as JSON: [{"name":"cs-team","url":"https://…","secret":"…"},{"name":"slack","url":"https://hooks.slack.com/…","format":"slack"}]. */
  ALERT_WEBHOOKS: json(webhooks).default([]),
  /** A crashed alerting process's work (detection, each webhook) moves to a standby after this long without heartbeats. */
  ALERT_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).default(30_000),
  /** Alert changes about days older than this (a backfill of history) are recorded, not notified. */
  ALERT_NOTIFY_WITHIN_DAYS: z.coerce.number().int().min(1).max(3650).default(3),
  /** Alert changes of one segment within this long go out as one notification. */
  ALERT_GROUP_WAIT_S: z.coerce.number().min(0).max(3600).default(30),
  /** One delivery attempt's timeout; failed attempts back off exponentially up to the maximum... */
  ALERT_WEBHOOK_TIMEOUT_S: z.coerce.number().min(1).max(120).default(10),
  ALERT_WEBHOOK_MAX_BACKOFF_S: z.coerce.number().min(1).max(3600).default(300),
  /** ...for this long; then the notification goes to the dead-letter topic with the reason. */
  ALERT_WEBHOOK_GIVE_UP_H: z.coerce
    .number()
    .gt(0)
    .max(24 * 14)
    .default(24),

  /** Set: talk to a ClickHouse server over HTTP. Unset: embedded chDB at CHDB_PATH. */
  CLICKHOUSE_URL: optionalUrl(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: secret(),
  CHDB_PATH: z.string().min(1).default('.journeyline/chdb'),

  /** A sink insert block is one fetch of one partition: at most this many bytes of records... */
  SINK_BATCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /**
   * ...the broker holds a fetch until this many bytes are there (at live rates never: every fetch
   * waits SINK_BATCH_MAX_WAIT_MS; a backlog is read as fast as it is written)...
   */
  SINK_BATCH_MIN_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(8 * 1024 * 1024),
  /**
   * ...or until this long has passed. Each fetch costs one insert per table and partition, whatever
   * its size, so this paces the sink's CPU (docs/performance.md, "The sink's pace").
   */
  SINK_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** Blocks of this many partitions written at once (each with its own insert session): Kafka's commits and ClickHouse's inserts overlap. */
  SINK_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(32).default(4),
  /** Retries of a retryable ClickHouse error back off exponentially up to this, while the consumer is paused. */
  SINK_RETRY_MAX_BACKOFF_MS: z.coerce.number().int().min(100).default(30_000),

  /** Embedded mode: the read-only SQL endpoint (ClickHouse's HTTP interface) on this address. */
  QUERY_HOST: z.string().min(1).default('127.0.0.1'),
  QUERY_PORT: z.coerce.number().int().min(0).max(65535).default(8123),
  /** Bearer tokens the endpoint accepts (also as the password of Basic auth). Unset: one is made per run and written to QUERY_TOKEN_FILE. */
  QUERY_API_KEYS: apiKeys(),
  /** Where the made token is written (mode 0600) and where `journey sql` finds it. */
  QUERY_TOKEN_FILE: z.string().min(1).default('.journeyline/query-token'),
  /** Host headers the endpoint answers (DNS rebinding); default: its own address, and the loopback names when it listens on loopback. */
  QUERY_ALLOWED_HOSTS: optionalList().transform((hosts) => hosts.map((host) => host.toLowerCase())),
  /** The budget of one analyst query: time, memory, result size; and how many run at once. */
  QUERY_MAX_EXECUTION_S: z.coerce.number().int().min(1).max(3600).default(60),
  QUERY_MAX_MEMORY_BYTES: z.coerce
    .number()
    .int()
    .min(16 * 1024 * 1024)
    .default(2 * 1024 * 1024 * 1024),
  QUERY_MAX_RESULT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024 * 1024),
  QUERY_MAX_CONCURRENT: z.coerce.number().int().min(1).max(16).default(2),
  /** Where `journey sql` sends queries when CLICKHOUSE_URL is unset: the running product's endpoint. */
  QUERY_URL: z.url().default('http://127.0.0.1:8123'),

  /** The dashboard (`journey run dashboard`): on this address, reading ClickHouse through the read-only query path. */
  DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  /** Tokens that open the dashboard (the sign-in link carries one). Unset: one is made per run and printed by `journey start`. */
  DASHBOARD_API_KEYS: apiKeys(),
  /** Host headers the dashboard answers (DNS rebinding), host:port; default as QUERY_ALLOWED_HOSTS. */
  DASHBOARD_ALLOWED_HOSTS: optionalList().transform((hosts) => hosts.map((host) => host.toLowerCase())),
  /** How often the page refreshes its panels; the live numbers refresh every 2 s whatever this is. */
  DASHBOARD_REFRESH_S: z.coerce.number().int().min(2).max(3600).default(10),
  /** Customers in consideration for longer than this are shown as stuck. */
  DASHBOARD_STUCK_AFTER_DAYS: z.coerce.number().int().min(1).max(365).default(14),

  STACK_DIR: z.string().min(1).default('.journeyline/stack'),
  STACK_KAFKA_PORT: port(9092),
  STACK_KAFKA_CONTROLLER_PORT: port(9093),
  STACK_REGISTRY_PORT: port(8081),
  /** Apicurio's management interface (health, metrics); Quarkus fixes it on at build time. */
  STACK_REGISTRY_MANAGEMENT_PORT: port(9081),
  STACK_KAFKA_HEAP: heap('512m'),
  STACK_REGISTRY_HEAP: heap('384m'),
  STACK_START_TIMEOUT_S: z.coerce.number().positive().default(120),
  /** JDK for Kafka (17–23); when unset, JAVA_HOME if it fits, else found under /usr/lib/jvm or PATH. */
  STACK_KAFKA_JAVA_HOME: z.string().optional(),
  /** JDK for Apicurio Registry 3.3 (21+); found under /usr/lib/jvm when unset. */
  STACK_REGISTRY_JAVA_HOME: z.string().optional(),
  JAVA_HOME: z.string().optional(),
});

export type Env = z.input<typeof envSchema>;
type ParsedEnv = z.output<typeof envSchema>;

const SECRET_KEYS: ReadonlySet<string> = new Set([
  'KAFKA_SASL_PASSWORD',
  'SCHEMA_REGISTRY_PASSWORD',
  'CLICKHOUSE_PASSWORD',
  'COLLECTOR_API_KEYS',
  'QUERY_API_KEYS',
  'DASHBOARD_API_KEYS',
  'ALERT_WEBHOOKS',
]);

/**
 * Text with the credentials of a URL in it (`http://user:pass@host`) masked, fit for a log line
 * or an error message. Textual, so a URL too broken to parse is masked as well.
 */
export const redactUrl = (text: string): string => text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***:***@');

/** Webhook URLs carry their credential in the path (Slack's do): only the origin is fit for a log. */
const redactWebhookUrl = (url: string): string => {
  try {
    return `${new URL(url).origin}/***`;
  } catch {
    return '***';
  }
};

export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function structure(env: ParsedEnv, cwd: string) {
  const sasl =
    env.KAFKA_SASL_MECHANISM === undefined
      ? undefined
      : { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' };
  return {
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    stackMode: env.JOURNEY_STACK,
    topicPrefix: env.TOPIC_PREFIX,
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      ssl: env.KAFKA_SSL,
      sasl,
      topicPartitions: env.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: env.KAFKA_REPLICATION_FACTOR,
      outageToleranceMs: env.KAFKA_OUTAGE_TOLERANCE_S * 1000,
    },
    collector: {
      host: env.COLLECTOR_HOST,
      port: env.COLLECTOR_PORT,
      apiKeys: env.COLLECTOR_API_KEYS,
      maxEvents: env.COLLECTOR_MAX_EVENTS,
      maxBodyBytes: env.COLLECTOR_MAX_BODY_BYTES,
      kafkaTimeoutMs: env.COLLECTOR_KAFKA_TIMEOUT_MS,
      connections: {
        headersTimeoutMs: env.COLLECTOR_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: env.COLLECTOR_REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: 65_000,
        maxConnections: env.COLLECTOR_MAX_CONNECTIONS,
      },
    },
    events: { maxFutureSkewMs: env.EVENT_MAX_FUTURE_SKEW_S * 1000, maxPastMs: env.EVENT_MAX_PAST_DAYS * 86_400_000 },
    processor: {
      timeZone: env.REPORTING_TIME_ZONE,
      allowedLatenessMs: env.ALLOWED_LATENESS_S * 1000,
      dormantAfterDays: env.DORMANT_AFTER_DAYS,
      checkoutAbandonedAfterMs: env.CHECKOUT_ABANDONED_AFTER_MIN * 60_000,
      maxBytesPerPartition: env.PROCESSOR_MAX_BYTES_PER_PARTITION,
      minBytes: env.PROCESSOR_BATCH_MIN_BYTES,
      maxWaitMs: env.PROCESSOR_BATCH_MAX_WAIT_MS,
      farAheadEveryMs: env.PROCESSOR_FAR_AHEAD_EVERY_MS,
      sessionTimeoutMs: env.PROCESSOR_SESSION_TIMEOUT_MS,
      threads: env.PROCESSOR_THREADS,
      dedup: { windowMs: env.PROCESSOR_DEDUP_WINDOW_DAYS * 86_400_000, maxIds: env.PROCESSOR_DEDUP_MAX_IDS },
      identity: { maxAnonymousIds: env.IDENTITY_MAX_ANONYMOUS_IDS, blockedAnonymousIds: env.IDENTITY_BLOCKED_ANONYMOUS_IDS },
      stage: {
        conversions: env.CONVERSION_EVENTS,
        considerationProductViews: env.STAGE_CONSIDERATION_PRODUCT_VIEWS,
        considerationSessions: env.STAGE_CONSIDERATION_SESSIONS,
        engagementAfterPurchaseMs: env.STAGE_ENGAGEMENT_AFTER_PURCHASE_H * 3600 * 1000,
      },
    },
    alerts: {
      signals: env.ALERT_SIGNALS,
      lookbackDays: env.ALERT_LOOKBACK_DAYS,
      webhooks: env.ALERT_WEBHOOKS,
      groupWaitMs: env.ALERT_GROUP_WAIT_S * 1000,
      notifyWithinDays: env.ALERT_NOTIFY_WITHIN_DAYS,
      sessionTimeoutMs: env.ALERT_SESSION_TIMEOUT_MS,
      delivery: {
        timeoutMs: env.ALERT_WEBHOOK_TIMEOUT_S * 1000,
        maxBackoffMs: env.ALERT_WEBHOOK_MAX_BACKOFF_S * 1000,
        giveUpMs: env.ALERT_WEBHOOK_GIVE_UP_H * 3_600_000,
      },
    },
    registry: {
      url: env.SCHEMA_REGISTRY_URL,
      auth:
        env.SCHEMA_REGISTRY_USERNAME === undefined
          ? undefined
          : { username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD ?? '' },
    },
    clickhouse: {
      url: env.CLICKHOUSE_URL,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD ?? '',
      chdbPath: path.resolve(cwd, env.CHDB_PATH),
    },
    sink: {
      maxBytesPerPartition: env.SINK_BATCH_MAX_BYTES,
      minBytes: env.SINK_BATCH_MIN_BYTES,
      maxWaitMs: env.SINK_BATCH_MAX_WAIT_MS,
      partitionsConcurrently: env.SINK_PARTITIONS_CONCURRENTLY,
      maxBackoffMs: env.SINK_RETRY_MAX_BACKOFF_MS,
    },
    query: {
      host: env.QUERY_HOST,
      port: env.QUERY_PORT,
      url: env.QUERY_URL,
      apiKeys: env.QUERY_API_KEYS,
      tokenFile: path.resolve(cwd, env.QUERY_TOKEN_FILE),
      allowedHosts: env.QUERY_ALLOWED_HOSTS,
      limits: {
        maxExecutionS: env.QUERY_MAX_EXECUTION_S,
        maxMemoryBytes: env.QUERY_MAX_MEMORY_BYTES,
        maxResultBytes: env.QUERY_MAX_RESULT_BYTES,
        maxConcurrent: env.QUERY_MAX_CONCURRENT,
      },
    },
    dashboard: {
      host: env.DASHBOARD_HOST,
      port: env.DASHBOARD_PORT,
      apiKeys: env.DASHBOARD_API_KEYS,
      allowedHosts: env.DASHBOARD_ALLOWED_HOSTS,
      refreshS: env.DASHBOARD_REFRESH_S,
      stuckAfterDays: env.DASHBOARD_STUCK_AFTER_DAYS,
    },
    stack: {
      dir: path.resolve(cwd, env.STACK_DIR),
      kafkaPort: env.STACK_KAFKA_PORT,
      kafkaControllerPort: env.STACK_KAFKA_CONTROLLER_PORT,
      registryPort: env.STACK_REGISTRY_PORT,
      registryManagementPort: env.STACK_REGISTRY_MANAGEMENT_PORT,
      kafkaHeap: env.STACK_KAFKA_HEAP,
      registryHeap: env.STACK_REGISTRY_HEAP,
      startTimeoutMs: env.STACK_START_TIMEOUT_S * 1000,
      kafkaJavaHome: env.STACK_KAFKA_JAVA_HOME,
      registryJavaHome: env.STACK_REGISTRY_JAVA_HOME,
      javaHome: env.JAVA_HOME,
    },
  };
}

export type Config = ReturnType<typeof structure>;

/**
 * Parses the environment once. Blank variables count as unset, as shells and compose files
 * commonly export `VAR=` for "no value".
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd()): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') relevant[key] = value;
  }
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        // A JSON variable's issue names the field inside it too: ALERT_SIGNALS=…: ces_mean.sigmas: …
        const [variable = '', ...inside] = issue.path.map(String);
        const shown = SECRET_KEYS.has(variable) ? '(secret)' : JSON.stringify(redactUrl(relevant[variable] ?? ''));
        return `${variable}=${shown}: ${inside.length > 0 ? `${inside.join('.')}: ` : ''}${issue.message}`;
      }),
    );
  }
  const config = structure(parsed.data, cwd);
  if (config.kafka.sasl !== undefined && env.KAFKA_SASL_USERNAME === undefined) {
    throw new ConfigError(['KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set']);
  }
  return config;
}

/** True when the environment names the services outright, so no stack needs starting. */
export function endpointsGivenIn(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.KAFKA_BROKERS?.trim()) && Boolean(env.SCHEMA_REGISTRY_URL?.trim());
}

/** The config with secrets masked, fit for a log line. */
export function redactedConfig(config: Config): Config {
  const mask = (s: string | undefined) => (s === undefined || s === '' ? s : '***');
  return {
    ...config,
    kafka: {
      ...config.kafka,
      sasl: config.kafka.sasl && { ...config.kafka.sasl, password: mask(config.kafka.sasl.password) ?? '' },
    },
    registry: {
      ...config.registry,
      url: redactUrl(config.registry.url),
      auth: config.registry.auth && { ...config.registry.auth, password: mask(config.registry.auth.password) ?? '' },
    },
    clickhouse: {
      ...config.clickhouse,
      url: config.clickhouse.url && redactUrl(config.clickhouse.url),
      password: mask(config.clickhouse.password) ?? '',
    },
    collector: { ...config.collector, apiKeys: config.collector.apiKeys.map(() => '***') },
    alerts: {
      ...config.alerts,
      webhooks: config.alerts.webhooks.map((w) => ({ ...w, url: redactWebhookUrl(w.url), secret: mask(w.secret) })),
    },
    query: { ...config.query, url: redactUrl(config.query.url), apiKeys: config.query.apiKeys.map(() => '***') },
    dashboard: { ...config.dashboard, apiKeys: config.dashboard.apiKeys.map(() => '***') },
  };
}
