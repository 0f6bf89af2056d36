/**
 * A customer's changelog value as JSON, the format before customers were packed as Avro
 * (customer-codec.ts reads the packed versions): read into today's state, each field an earlier
 * release did not write given the value that release's behaviour implies.
 */
import type { CustomerState } from '../rules/customer.ts';
import type { StageEvidence } from '../rules/stage.ts';
import type { StoredCustomer } from './customer-codec.ts';
import { RecentEventIds, type RecentEventIdsJson } from './recent-event-ids.ts';

/** Records written before ids were bounded list them all in the customer. */
export function customerFromJson(value: string): StoredCustomer {
  const parsed = JSON.parse(value) as Omit<StoredCustomer, 'seen' | 'customer'> & {
    seen?: RecentEventIdsJson;
    customer: Omit<CustomerState, 'revenueByCurrency' | 'anonymousIds'> & {
      seenEventIds?: string[];
      revenueByCurrency?: Record<string, string>;
      anonymousIds?: number;
    };
  };
  const { seenEventIds, ...known } = parsed.customer;
  // Records from before money was kept per currency have no breakdown to restore, those from
  // before conversion events were configurable no first form times, and those from before social
  // engagement and carts no counts of either.
  const evidence = known.stage.evidence as Partial<StageEvidence>;
  const customer: CustomerState = {
    ...known,
    anonymousIds: known.anonymousIds ?? 0,
    revenueByCurrency: known.revenueByCurrency ?? {},
    referralSource: known.referralSource ?? null,
    stage: {
      ...known.stage,
      evidence: {
        ...known.stage.evidence,
        firstFormAt: evidence.firstFormAt ?? {},
        socialEngagements: evidence.socialEngagements ?? 0,
        cartActions: evidence.cartActions ?? 0,
      },
    },
  };
  const seen = parsed.seen ?? { horizon: null, ids: (seenEventIds ?? []).map((id) => [id, customer.lastSeenAt] as const) };
  return { customer, track: parsed.track, seen: RecentEventIds.fromJSON(seen) };
}
