/**
 * Every topic journeyline owns: one definition, imported by every service. Names carry a
 * configurable prefix so environments (and tests) never share topics by accident. What the topics
 * others read carry (Avro, registered under `<topic>-value`): topic-records.ts.
 */
export interface TopicSpec {
  readonly name: string;
  /** Compacted topics keep the latest value per key (state changelogs, current profiles). */
  readonly compacted: boolean;
}

export function topicsFor(prefix: string) {
  const topic = (suffix: string, compacted = false): TopicSpec => ({ name: `${prefix}${suffix}`, compacted });
  return {
    /** Every accepted event, Avro, keyed by anonymous visitor, else customer (see partitionKeyOf). */
    events: topic('events'),
    /**
     * The processor's own: each event as it came, keyed by the customer the identity step resolved
     * it to (or `anon:<id>` while unlinked), and the identity commands between its partitions
     * (IDENTITY_HEADERS). Read only by the processor's journey step.
     */
    resolvedEvents: topic('resolved-events'),
    /** Every identity decision (schemas/processor-outputs.ts identityLinkRecord), keyed by anonymous id. */
    identityLinks: topic('identity-links'),
    /** The identity step's state: anonymous id → the customer it is linked to (JSON); restored on rebalance and restart. */
    identityChangelog: topic('identity-changelog', true),
    /** Messages a consumer could not decode or validate, untouched, with the reason in headers. */
    deadLetter: topic('dead-letter'),
    /** Events past their window's allowed lateness: untouched, counted, never silently dropped. */
    lateEvents: topic('late-events'),
    /** One record per funnel stage change, keyed by customer. */
    stageTransitions: topic('stage-transitions'),
    /** Converted customers a survey put at risk, keyed by customer; the latest per customer is kept. */
    customersAtRisk: topic('customers-at-risk', true),
    /** Latest profile per customer, keyed by customer. */
    customerProfiles: topic('customer-profiles', true),
    /** Daily (and rolling) KPI records per (segment, day, processor partition); latest revision wins; placed by segment|day. */
    segmentKpis: topic('segment-kpis', true),
    /** The processor's state in its own format (customers as Avro bytes, windows as JSON), keyed per customer and window; restored on rebalance and restart. */
    processorChangelog: topic('processor-changelog', true),
    /** Every change of a churn alert (schemas/alert-records.ts), keyed by segment|signal. */
    alerts: topic('alerts'),
    /** The alerting service's published alerts per segment|signal (JSON, its own state); restored at start. */
    alertsChangelog: topic('alerts-changelog', true),
    /** Acks and snoozes from `journey alerts`, keyed by action|target; the latest wins. */
    alertActions: topic('alert-actions', true),
  } as const;
}

export type Topics = ReturnType<typeof topicsFor>;

/** The processor's journey step's consumer group: its committed offsets on resolved-events are what it has counted. */
export const processorGroupName = (prefix: string): string => `${prefix}processor`;
/** The processor's identity step's consumer group: its committed offsets on the events topic are what has entered the processor (the dashboard reads its lag). */
export const identityGroupName = (prefix: string): string => `${prefix}identity`;

/**
 * Headers of the identity commands on resolved-events (a message with `command` set is one, its
 * value the handed-over state or empty): `merge`, keyed by the anonymous key, asks its partition to
 * hand the visitor over to `customer`; `handover`, keyed by the customer, carries the visitor's
 * state; `handback`, keyed by the anonymous key, returns it when the customer has no room.
 */
export const IDENTITY_HEADERS = {
  command: 'journeyline.identity.command',
  anonymousKey: 'journeyline.identity.anonymous_key',
  customer: 'journeyline.identity.customer',
  eventId: 'journeyline.identity.event_id',
  at: 'journeyline.identity.at',
} as const;
export const IDENTITY_COMMANDS = ['merge', 'handover', 'handback'] as const;
export type IdentityCommand = (typeof IDENTITY_COMMANDS)[number];

/** Confluent's TopicNameStrategy: the value schema of topic T lives under subject `T-value`. */
export const valueSubjectOf = (topic: TopicSpec): string => `${topic.name}-value`;

/** Headers a dead-lettered message carries (values are UTF-8 strings). */
export const DEAD_LETTER_HEADERS = {
  reason: 'journeyline.dlq.reason',
  stage: 'journeyline.dlq.stage',
  sourceTopic: 'journeyline.dlq.source.topic',
  sourcePartition: 'journeyline.dlq.source.partition',
  sourceOffset: 'journeyline.dlq.source.offset',
  consumerGroup: 'journeyline.dlq.consumer.group',
  failedAt: 'journeyline.dlq.failed.at',
} as const;
