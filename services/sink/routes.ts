/** The sink's routes: for each topic it reads, the decoder and the tables its rows land in. */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createJourneyEventDecoder } from '../common/event-decoder.ts';
import { recordDecoder } from '../common/record-codec.ts';
import type { Decoded } from '../common/step-result.ts';
import { segmentKpiKey, type CustomerProfileRecord, type SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { TOPIC_RECORDS, type TopicRecord } from '../../schemas/topic-records.ts';
import type { TopicSpec, Topics } from '../../schemas/topics.ts';
import {
  alertActionRow,
  alertRow,
  atRiskRow,
  eventRow,
  identityLinkRow,
  kpiRecordRow,
  profileRow,
  stageRow,
  transitionRow,
  type KafkaPosition,
  type Row,
} from './rows.ts';

/** How one topic's records become rows: the decoder, and per table the row builder. */
export interface Route {
  readonly decode: (message: KafkaMessage) => Promise<Decoded<unknown>>;
  readonly tables: readonly { readonly table: string; readonly row: (value: never, at: KafkaPosition) => Row }[];
  /** For a topic whose tables keep the latest row per key: the key (a block inserts only its last record per key). */
  readonly latestBy?: ((value: never) => string) | undefined;
}

/**
 * What the sink writes, topic by topic: the record each carries (the events, or one of
 * journeyline's own records) and the tables it lands in. The one list of the sink's topics.
 */
interface SinkRoute extends Pick<Route, 'tables' | 'latestBy'> {
  readonly topic: TopicSpec;
  readonly record: 'event' | TopicRecord<unknown>;
}

const sinkRoutes = (topics: Topics): readonly SinkRoute[] => [
  { topic: topics.events, record: 'event', tables: [{ table: 'journey.events', row: eventRow }] },
  {
    topic: topics.stageTransitions,
    record: TOPIC_RECORDS.stageTransitions,
    tables: [{ table: 'journey.stage_transitions', row: transitionRow }],
  },
  {
    topic: topics.customerProfiles,
    record: TOPIC_RECORDS.customerProfiles,
    tables: [
      { table: 'journey.customer_profiles', row: profileRow },
      { table: 'journey.customer_stages', row: stageRow },
    ],
    // ReplacingMergeTree by customer: a busy customer's profiles within one block are one row.
    latestBy: (p: CustomerProfileRecord) => p.customer_id,
  },
  {
    topic: topics.segmentKpis,
    record: TOPIC_RECORDS.segmentKpis,
    tables: [{ table: 'journey.segment_kpi_partials', row: kpiRecordRow }],
    // ReplacingMergeTree by (segment, day, partition): every processor batch revises the same
    // windows (and the rolling days ahead), so a block holds many revisions of each; only the last counts.
    latestBy: (w: SegmentKpiRecord) => segmentKpiKey(w.segment, w.day, w.partition),
  },
  {
    topic: topics.customersAtRisk,
    record: TOPIC_RECORDS.customersAtRisk,
    tables: [{ table: 'journey.customers_at_risk', row: atRiskRow }],
  },
  { topic: topics.alerts, record: TOPIC_RECORDS.alerts, tables: [{ table: 'journey.alerts', row: alertRow }] },
  {
    topic: topics.identityLinks,
    record: TOPIC_RECORDS.identityLinks,
    tables: [{ table: 'journey.identity_links', row: identityLinkRow }],
  },
  { topic: topics.alertActions, record: TOPIC_RECORDS.alertActions, tables: [{ table: 'journey.alert_actions', row: alertActionRow }] },
];

/** The topics the sink writes to ClickHouse. */
export const sinkTopicsOf = (topics: Topics): string[] => sinkRoutes(topics).map((route) => route.topic.name);

export function routesFor(topics: Topics, registry: SchemaRegistry): Map<string, Route> {
  const decodeEvent = createJourneyEventDecoder(registry);
  return new Map(
    sinkRoutes(topics).map(({ topic, record, tables, latestBy }) => [
      topic.name,
      { decode: record === 'event' ? (m) => decodeEvent(m) : recordDecoder(registry, record), tables, latestBy },
    ]),
  );
}
