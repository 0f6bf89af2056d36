/**
 * A customer's state at rest: Avro bytes, about a fifth of the same state as JavaScript objects
 * (a dozen small objects, maps and strings per customer). The partition state keeps every
 * customer not touched since the last flush packed, and the changelog carries the same bytes.
 * Pure.
 *
 * The first byte says the format: `{` is the JSON of changelog records written before this, any
 * other is a version of the Avro schema below: 2 added the count of merged anonymous ids, 3 where
 * each stage was counted as reached; bytes of earlier versions are read through a resolver. Fields
 * added later need defaults.
 */
import avro from 'avsc';
import type { CustomerState } from '../rules/customer.ts';
import type { CheckoutTrack } from '../rules/checkouts.ts';
import type { CustomerKpiTrack, SegmentDayMarks } from '../rules/window-deltas.ts';
import { RecentEventIds, type RecentEventIdsJson } from './recent-event-ids.ts';
import { prefixedEncoder } from '../../common/record-codec.ts';

export interface StoredCustomer {
  readonly customer: CustomerState;
  readonly track: CustomerKpiTrack;
  /** The customer's recent event_ids: a replay among them is not counted again (recent-event-ids.ts). */
  readonly seen: RecentEventIds;
}

const VERSION_1 = 1;
const VERSION_2 = 2;
const VERSION_3 = 3;
type Version = typeof VERSION_1 | typeof VERSION_2 | typeof VERSION_3;
const JSON_START = 0x7b; // `{`

const MARK_FLAGS = ['visitor', 'buyer', 'converted', 'convertedVisitor', 'repeatBuyer'] as const;

type Field = Readonly<{ name: string; type: unknown; default?: unknown }>;
const record = (name: string, fields: readonly Field[]) => ({ type: 'record', name, fields });
const arrayOf = (items: unknown) => ({ type: 'array', items });
const mapOf = (values: unknown) => ({ type: 'map', values });
const field = (name: string, type: unknown): Field => ({ name, type });
const optional = (name: string, type: unknown): Field => ({ name, type: ['null', type], default: null });
const latest = (name: string, value: string) => record(name, [field('value', value), field('at', 'long'), field('event_id', 'string')]);

/** A customer's stage, profile and latest answers, as of `version`. */
const customerSchema = (version: Version) =>
  record('Customer', [
    field('customerId', 'string'),
    field(
      'stage',
      record('CustomerStage', [
        field(
          'evidence',
          record('StageEvidence', [
            field('pageViews', 'long'),
            field('socialEngagements', 'long'),
            field('cartActions', 'long'),
            field('productOrPricingViews', 'long'),
            field('pageViewSessions', arrayOf('string')),
            field('formSubmissions', 'long'),
            field('firstFormAt', mapOf('long')),
            field('purchases', 'long'),
            optional('firstPurchaseAt', 'long'),
            optional('lastEventAt', 'long'),
            optional('lastSurveyAt', 'long'),
          ]),
        ),
        field('stage', 'string'),
        optional('stageSince', 'long'),
      ]),
    ),
    field('firstSeenAt', 'long'),
    field('lastSeenAt', 'long'),
    optional('segment', latest('LatestText', 'string')),
    field('pageViews', 'long'),
    field('formsSubmitted', 'long'),
    field('purchases', 'long'),
    field('revenueMinor', 'string'),
    field('revenueByCurrency', mapOf('string')),
    optional('lastNps', latest('LatestScore', 'double')),
    optional('lastCsat', 'LatestScore'),
    optional('lastCes', 'LatestScore'),
    optional('referralSource', 'LatestText'),
    ...(version >= VERSION_2 ? [{ name: 'anonymousIds', type: 'long', default: 0 }] : []),
  ]);

/** What a customer was counted as per segment-day (window-deltas.ts), as of `version`. */
const trackSchema = (version: Version) =>
  record('Track', [
    field(
      'marks',
      mapOf(
        // Absent flags are false here and absent again when read.
        record('Marks', [
          ...MARK_FLAGS.map((flag) => ({
            name: flag,
            type: 'boolean',
            default: false,
          })),
          optional('orders', 'int'),
          optional('sessions', arrayOf('string')),
          optional('timedSessions', arrayOf('string')),
        ]),
      ),
    ),
    field('earliestPurchases', arrayOf('long')),
    optional('cycle', record('Cycle', [field('key', 'string'), field('days', 'double')])),
    optional(
      'checkouts',
      record('Checkouts', [
        field('signals', arrayOf(record('Signal', [field('at', 'long'), field('segment', 'string')]))),
        field('purchases', arrayOf('long')),
        optional('absorbedUntil', 'long'),
        field('counted', mapOf(record('Counted', [field('started', 'int'), field('completed', 'int')]))),
      ]),
    ),
    ...(version >= VERSION_3 ? [{ name: 'reached', type: mapOf('string'), default: {} }] : []),
  ]);

/** The schema of `version`: fields added after it are left out. */
const storedCustomerSchema = (version: Version) => ({
  ...record('StoredCustomer', [
    field('customer', customerSchema(version)),
    field('track', trackSchema(version)),
    field(
      'seen',
      record('Seen', [optional('horizon', 'long'), field('ids', arrayOf(record('SeenId', [field('id', 'string'), field('at', 'long')])))]),
    ),
  ]),
  namespace: 'dev.journeyline.processor.state',
});
const STORED_CUSTOMER = avro.Type.forSchema(storedCustomerSchema(VERSION_3) as avro.Schema);
const encodeStoredCustomer = prefixedEncoder(STORED_CUSTOMER, Buffer.of(VERSION_3));
const resolverFrom = (version: Version) =>
  STORED_CUSTOMER.createResolver(avro.Type.forSchema(storedCustomerSchema(version) as avro.Schema));
const EARLIER_VERSIONS = new Map([
  [VERSION_1, resolverFrom(VERSION_1)],
  [VERSION_2, resolverFrom(VERSION_2)],
]);

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
  track: Omit<CustomerKpiTrack, 'marks' | 'checkouts' | 'reached'> & {
    marks: Record<string, WireMarks>;
    checkouts: WireCheckouts | null;
    reached: Record<string, string>;
  };
  seen: { horizon: number | null; ids: { id: string; at: number }[] };
}

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
  for (const flag of MARK_FLAGS) if (wire[flag]) marks[flag] = true;
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
  const { checkouts, marks, reached, ...rest } = track;
  const ids = seen.toJSON();
  const wire: WireCustomer = {
    customer,
    track: {
      ...rest,
      marks: Object.fromEntries(Object.entries(marks).map(([key, value]) => [key, marksToWire(value)])),
      checkouts: checkouts === undefined ? null : checkoutsToWire(checkouts),
      reached: { ...reached },
    },
    seen: { horizon: ids.horizon, ids: ids.ids.map(([id, at]) => ({ id, at })) },
  };
  return encodeStoredCustomer(wire);
}

/** Whether bytes are the JSON of a changelog record written before customers were packed. */
export const isJsonCustomer = (bytes: Buffer): boolean => bytes[0] === JSON_START;

/** A customer's state from its bytes (packCustomer's, or the JSON of an older changelog record). */
export function unpackCustomer(bytes: Buffer, fromJson: (json: string) => StoredCustomer): StoredCustomer {
  if (isJsonCustomer(bytes)) return fromJson(bytes.toString('utf8'));
  const version = bytes[0];
  if (version !== VERSION_3 && !EARLIER_VERSIONS.has(version as Version))
    throw new Error(`customer state of unknown format ${String(version)}`);
  const wire = STORED_CUSTOMER.fromBuffer(bytes.subarray(1), EARLIER_VERSIONS.get(version as Version)) as WireCustomer;
  const { checkouts, marks, reached, ...rest } = wire.track;
  const customer: CustomerState = wire.customer;
  const track: CustomerKpiTrack = {
    ...rest,
    marks: Object.fromEntries(Object.entries(marks).map(([key, value]) => [key, marksFromWire(value)])),
    ...(checkouts !== null && { checkouts: checkoutsFromWire(checkouts) }),
    ...(Object.keys(reached).length > 0 && { reached }),
  };
  const seen: RecentEventIdsJson = { horizon: wire.seen.horizon, ids: wire.seen.ids.map(({ id, at }) => [id, at] as const) };
  return { customer, track, seen: RecentEventIds.fromJSON(seen) };
}
