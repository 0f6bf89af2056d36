/**
 * A customer's state at rest: Avro bytes, about a fifth of the same state as JavaScript objects
 * (a dozen small objects, maps and strings per customer). The partition state keeps every
 * customer not touched since the last flush packed, and the changelog carries the same bytes.
 * Pure.
 *
 * The first byte says the format: `{` is the JSON of changelog records written before this, any
 * other is a version of the Avro schema below (only 1 so far). Fields added later need defaults.
 */
import avro from 'avsc';
import type { CustomerState } from '../rules/customer.ts';
import type { CheckoutTrack } from '../rules/checkouts.ts';
import type { CustomerKpiTrack, SegmentDayMarks } from '../rules/window-deltas.ts';
import { RecentEventIds, type RecentEventIdsJson } from './recent-event-ids.ts';

export interface StoredCustomer {
  readonly customer: CustomerState;
  readonly track: CustomerKpiTrack;
  /** The customer's recent event_ids: a replay among them is not counted again (recent-event-ids.ts). */
  readonly seen: RecentEventIds;
}

const VERSION_1 = 1;
const JSON_START = 0x7b; // `{`

const optional = (type: unknown) => ({ type: ['null', type], default: null });
const latest = (name: string, value: string) => ({
  type: 'record',
  name,
  fields: [
    { name: 'value', type: value },
    { name: 'at', type: 'long' },
    { name: 'event_id', type: 'string' },
  ],
});
const strings = { type: 'array', items: 'string' };

const STORED_CUSTOMER_SCHEMA = {
  type: 'record',
  name: 'StoredCustomer',
  namespace: 'dev.journeyline.processor.state',
  fields: [
    {
      name: 'customer',
      type: {
        type: 'record',
        name: 'Customer',
        fields: [
          { name: 'customerId', type: 'string' },
          {
            name: 'stage',
            type: {
              type: 'record',
              name: 'CustomerStage',
              fields: [
                {
                  name: 'evidence',
                  type: {
                    type: 'record',
                    name: 'StageEvidence',
                    fields: [
                      { name: 'pageViews', type: 'long' },
                      { name: 'socialEngagements', type: 'long' },
                      { name: 'cartActions', type: 'long' },
                      { name: 'productOrPricingViews', type: 'long' },
                      { name: 'pageViewSessions', type: strings },
                      { name: 'formSubmissions', type: 'long' },
                      { name: 'firstFormAt', type: { type: 'map', values: 'long' } },
                      { name: 'purchases', type: 'long' },
                      { name: 'firstPurchaseAt', ...optional('long') },
                      { name: 'lastEventAt', ...optional('long') },
                      { name: 'lastSurveyAt', ...optional('long') },
                    ],
                  },
                },
                { name: 'stage', type: 'string' },
                { name: 'stageSince', ...optional('long') },
              ],
            },
          },
          { name: 'firstSeenAt', type: 'long' },
          { name: 'lastSeenAt', type: 'long' },
          { name: 'segment', ...optional(latest('LatestText', 'string')) },
          { name: 'pageViews', type: 'long' },
          { name: 'formsSubmitted', type: 'long' },
          { name: 'purchases', type: 'long' },
          { name: 'revenueMinor', type: 'string' },
          { name: 'revenueByCurrency', type: { type: 'map', values: 'string' } },
          { name: 'lastNps', ...optional(latest('LatestScore', 'double')) },
          { name: 'lastCsat', ...optional('LatestScore') },
          { name: 'lastCes', ...optional('LatestScore') },
          { name: 'referralSource', ...optional('LatestText') },
        ],
      },
    },
    {
      name: 'track',
      type: {
        type: 'record',
        name: 'Track',
        fields: [
          {
            name: 'marks',
            type: {
              type: 'map',
              values: {
                type: 'record',
                name: 'Marks',
                fields: [
                  // Absent flags are false here and absent again when read.
                  { name: 'visitor', type: 'boolean', default: false },
                  { name: 'buyer', type: 'boolean', default: false },
                  { name: 'converted', type: 'boolean', default: false },
                  { name: 'convertedVisitor', type: 'boolean', default: false },
                  { name: 'repeatBuyer', type: 'boolean', default: false },
                  { name: 'orders', ...optional('int') },
                  { name: 'sessions', ...optional(strings) },
                  { name: 'timedSessions', ...optional(strings) },
                ],
              },
            },
          },
          { name: 'earliestPurchases', type: { type: 'array', items: 'long' } },
          {
            name: 'cycle',
            ...optional({
              type: 'record',
              name: 'Cycle',
              fields: [
                { name: 'key', type: 'string' },
                { name: 'days', type: 'double' },
              ],
            }),
          },
          {
            name: 'checkouts',
            ...optional({
              type: 'record',
              name: 'Checkouts',
              fields: [
                {
                  name: 'signals',
                  type: {
                    type: 'array',
                    items: {
                      type: 'record',
                      name: 'Signal',
                      fields: [
                        { name: 'at', type: 'long' },
                        { name: 'segment', type: 'string' },
                      ],
                    },
                  },
                },
                { name: 'purchases', type: { type: 'array', items: 'long' } },
                { name: 'absorbedUntil', ...optional('long') },
                {
                  name: 'counted',
                  type: {
                    type: 'map',
                    values: {
                      type: 'record',
                      name: 'Counted',
                      fields: [
                        { name: 'started', type: 'int' },
                        { name: 'completed', type: 'int' },
                      ],
                    },
                  },
                },
              ],
            }),
          },
        ],
      },
    },
    {
      name: 'seen',
      type: {
        type: 'record',
        name: 'Seen',
        fields: [
          { name: 'horizon', ...optional('long') },
          {
            name: 'ids',
            type: {
              type: 'array',
              items: {
                type: 'record',
                name: 'SeenId',
                fields: [
                  { name: 'id', type: 'string' },
                  { name: 'at', type: 'long' },
                ],
              },
            },
          },
        ],
      },
    },
  ],
};
const STORED_CUSTOMER = avro.Type.forSchema(STORED_CUSTOMER_SCHEMA as avro.Schema);

interface WireMarks {
  visitor: boolean;
  buyer: boolean;
  converted: boolean;
  convertedVisitor: boolean;
  repeatBuyer: boolean;
  orders: number | null;
  sessions: string[] | null;
  timedSessions: string[] | null;
}

interface WireCheckouts {
  signals: { at: number; segment: string }[];
  purchases: number[];
  absorbedUntil: number | null;
  counted: Record<string, { started: number; completed: number }>;
}

interface WireCustomer {
  customer: CustomerState;
  track: Omit<CustomerKpiTrack, 'marks' | 'checkouts'> & { marks: Record<string, WireMarks>; checkouts: WireCheckouts | null };
  seen: { horizon: number | null; ids: { id: string; at: number }[] };
}

const FLAGS = ['visitor', 'buyer', 'converted', 'convertedVisitor', 'repeatBuyer'] as const;

function marksToWire(marks: SegmentDayMarks): WireMarks {
  return {
    visitor: marks.visitor === true,
    buyer: marks.buyer === true,
    converted: marks.converted === true,
    convertedVisitor: marks.convertedVisitor === true,
    repeatBuyer: marks.repeatBuyer === true,
    orders: marks.orders ?? null,
    sessions: marks.sessions ?? null,
    timedSessions: marks.timedSessions ?? null,
  };
}

function marksFromWire(wire: WireMarks): SegmentDayMarks {
  const marks: SegmentDayMarks = {};
  for (const flag of FLAGS) if (wire[flag]) marks[flag] = true;
  if (wire.orders !== null) marks.orders = wire.orders;
  if (wire.sessions !== null) marks.sessions = wire.sessions;
  if (wire.timedSessions !== null) marks.timedSessions = wire.timedSessions;
  return marks;
}

function checkoutsToWire(track: CheckoutTrack): WireCheckouts {
  return {
    signals: track.signals.map(([at, segment]) => ({ at, segment })),
    purchases: [...track.purchases],
    absorbedUntil: track.absorbedUntil,
    counted: Object.fromEntries(Object.entries(track.counted).map(([key, [started, completed]]) => [key, { started, completed }])),
  };
}

function checkoutsFromWire(wire: WireCheckouts): CheckoutTrack {
  return {
    signals: wire.signals.map(({ at, segment }) => [at, segment] as const),
    purchases: wire.purchases,
    absorbedUntil: wire.absorbedUntil,
    counted: Object.fromEntries(Object.entries(wire.counted).map(([key, { started, completed }]) => [key, [started, completed] as const])),
  };
}

/** The bytes of a customer's state: its changelog value, and how the partition keeps it at rest. */
export function packCustomer({ customer, track, seen }: StoredCustomer): Buffer {
  const { checkouts, marks, ...rest } = track;
  const ids = seen.toJSON();
  const wire: WireCustomer = {
    customer,
    track: {
      ...rest,
      marks: Object.fromEntries(Object.entries(marks).map(([key, value]) => [key, marksToWire(value)])),
      checkouts: checkouts === undefined ? null : checkoutsToWire(checkouts),
    },
    seen: { horizon: ids.horizon, ids: ids.ids.map(([id, at]) => ({ id, at })) },
  };
  return Buffer.concat([Buffer.of(VERSION_1), STORED_CUSTOMER.toBuffer(wire)]);
}

/** A customer's state from its bytes (packCustomer's, or the JSON of an older changelog record). */
export function unpackCustomer(bytes: Buffer, fromJson: (json: string) => StoredCustomer): StoredCustomer {
  if (bytes[0] === JSON_START) return fromJson(bytes.toString('utf8'));
  if (bytes[0] !== VERSION_1) throw new Error(`customer state of unknown format ${String(bytes[0])}`);
  const wire = STORED_CUSTOMER.fromBuffer(bytes.subarray(1)) as WireCustomer;
  const { checkouts, marks, ...rest } = wire.track;
  const customer: CustomerState = wire.customer;
  const track: CustomerKpiTrack = {
    ...rest,
    marks: Object.fromEntries(Object.entries(marks).map(([key, value]) => [key, marksFromWire(value)])),
    ...(checkouts !== null && { checkouts: checkoutsFromWire(checkouts) }),
  };
  const seen: RecentEventIdsJson = { horizon: wire.seen.horizon, ids: wire.seen.ids.map(({ id, at }) => [id, at] as const) };
  return { customer, track, seen: RecentEventIds.fromJSON(seen) };
}
