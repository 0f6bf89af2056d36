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
    /** Every accepted event, Avro, keyed by customer (see partitionKeyOf). */
    events: topic('events'),
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
    /** Daily (and rolling) KPI window partials per (segment, day, processor partition); latest revision wins; placed by segment|day. */
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

/** The processor's consumer group: its committed offsets on the events topic are what it has processed (the dashboard reads its lag). */
export const processorGroupName = (prefix: string): string => `${prefix}processor`;

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
