/**
 * The identity step's rules: which customer an event belongs to, and what an event carrying both
 * ids decides about its anonymous id. Pure: (the anonymous id's link, the event) → a routing.
 *
 * - The first customer to arrive with an anonymous id (in the order of the events topic's
 *   partition, which holds every event of that id) is linked to it for good; the visitor's
 *   history merges into that customer (rules/merge.ts) and every later event of the id goes to it,
 *   anonymous or not, late or not.
 * - A different customer later arriving with the same id (a shared device) is a conflict: recorded
 *   (the first few per id), never merged; that customer's events stay that customer's.
 * - Junk ids (null, undefined, 0, … plus IDENTITY_BLOCKED_ANONYMOUS_IDS) never link: an event
 *   with one goes to its customer, or stays anonymous under that id.
 */
import { identityKeyOf, isJunkAnonymousId, type JourneyEvent } from '../../../schemas/event-contract.ts';

/** What is kept per anonymous id: bounded by MAX_CONFLICTS_KEPT, whatever the event count. */
export interface AnonymousLink {
  readonly customer_id: string;
  /** Event time and id of the event that linked them. */
  readonly at: number;
  readonly event_id: string;
  /** Customers who later claimed the id too, as far as recorded. */
  readonly conflicts: readonly string[];
}

/** Conflicting customers recorded per anonymous id: a device shared by a whole office is still a bounded state. */
export const MAX_CONFLICTS_KEPT = 16;

export type Routing =
  /** Forward the event keyed by `key`. */
  | { readonly kind: 'forward'; readonly key: string }
  /** The first link of `anonymous_id`: keep `link`, move the visitor's history to the customer, forward to the customer. */
  | { readonly kind: 'link'; readonly key: string; readonly anonymousId: string; readonly link: AnonymousLink }
  /** A new conflicting claim: keep `link` (with the conflict), record it, forward to the event's own customer. */
  | { readonly kind: 'conflict'; readonly key: string; readonly anonymousId: string; readonly link: AnonymousLink };

/** The key an anonymous id's state has while it is not linked (identityKeyOf of an anonymous event). */
export const anonymousKeyOf = (anonymousId: string): string => identityKeyOf({ customer_id: null, anonymous_id: anonymousId });
/** The anonymous id of such a key. */
export const anonymousIdOf = (anonymousKey: string): string => anonymousKey.slice(anonymousKeyOf('').length);

/**
 * The events-topic key whose partition holds the link of the event's anonymous id (`anon:<id>`,
 * as producers key it), or null when the event's routing reads no link (no id, or a junk one).
 */
export const homeKeyOf = (event: Pick<JourneyEvent, 'anonymous_id'>, blocked: ReadonlySet<string>): string | null =>
  event.anonymous_id === null || isJunkAnonymousId(event.anonymous_id, blocked) ? null : anonymousKeyOf(event.anonymous_id);

export function routeEvent(
  event: Pick<JourneyEvent, 'customer_id' | 'anonymous_id' | 'occurred_at' | 'event_id'>,
  linked: AnonymousLink | undefined,
  blocked: ReadonlySet<string>,
): Routing {
  const anonymousId = event.anonymous_id;
  const customer = event.customer_id;
  if (anonymousId === null || isJunkAnonymousId(anonymousId, blocked)) return { kind: 'forward', key: identityKeyOf(event) };
  if (customer === null) return { kind: 'forward', key: linked?.customer_id ?? anonymousKeyOf(anonymousId) };
  if (linked === undefined) {
    return {
      kind: 'link',
      key: customer,
      anonymousId,
      link: { customer_id: customer, at: event.occurred_at, event_id: event.event_id, conflicts: [] },
    };
  }
  if (linked.customer_id === customer || linked.conflicts.includes(customer) || linked.conflicts.length >= MAX_CONFLICTS_KEPT) {
    return { kind: 'forward', key: customer };
  }
  return { kind: 'conflict', key: customer, anonymousId, link: { ...linked, conflicts: [...linked.conflicts, customer] } };
}
