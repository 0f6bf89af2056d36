/**
 * Realistic customer journeys, pure and seeded: the same seed gives the same events, whatever the
 * clock (times are passed in). A population of customers in several segments, each with a
 * persona, browses, follows the shop on social networks, fills carts, signs up, buys and answers
 * surveys (on 5, 7 or 10 points) day by day; a share of events arrives late
 * or twice, a few are invalid. `churnSegment` makes one segment sour over the last week of history:
 * detractors, high effort, negative comments, and converted customers who stop coming back.
 */
import type { SURVEY_TYPES } from '../../schemas/event-contract.ts';
import {
  COMMENTS,
  DEFAULT_MONEY,
  DEFAULT_NETWORKS,
  MONEY,
  NETWORKS,
  ON_SEVEN,
  ON_TEN,
  PERSONAS,
  REFERRAL_SOURCES,
  type Mood,
  type Persona,
} from './populations.ts';

export type GeneratedEvent = Record<string, unknown>;

export interface TrafficOptions {
  readonly seed: number;
  readonly customers: number;
  readonly segments: readonly string[];
  /** A segment whose churn signals rise over the last `churnDays` of history. */
  readonly churnSegment?: string | undefined;
  readonly churnDays?: number;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuidFrom = (random: () => number) =>
  'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(random() * 16).toString(16));

interface Customer {
  readonly id: string;
  readonly anonymousId: string;
  readonly segment: string;
  readonly persona: Persona;
  /** Visits before this many visits are anonymous (no customer_id yet): browsing before sign-up. */
  readonly anonymousVisits: number;
  visits: number;
  purchases: number;
  /** A customer who went quiet (churn-segment souring, or a small chance after buying) never comes back. */
  gone: boolean;
}

export interface Traffic {
  /** Every event of one day of history (day 0 is the oldest), in the order a backend would send them. */
  day(index: number, dayStartMs: number, historyDays: number): GeneratedEvent[];
  /** About `count` events happening now. */
  live(count: number, nowMs: number): GeneratedEvent[];
}

/** A visit's event fields beside type and properties, at `offsetMs` into it (a fresh event id each). */
type VisitEvent = (offsetMs: number) => GeneratedEvent;

/** Seeded journeys: every random draw in a fixed order, so a seed always makes the same events. */
class TrafficGenerator implements Traffic {
  private readonly options: TrafficOptions;
  private readonly random: () => number;
  private readonly customers: Customer[];
  private readonly churnDays: number;

  constructor(options: TrafficOptions) {
    this.options = options;
    this.random = seeded(options.seed);
    this.customers = Array.from({ length: options.customers }, (_, n) => {
      const segment = options.segments[n % options.segments.length] ?? 'smb';
      return {
        id: `${segment}-${String(n)}`,
        anonymousId: `anon-${uuidFrom(this.random).slice(0, 13)}`,
        segment,
        persona: this.personaOf(),
        anonymousVisits: this.between(0, 2),
        visits: 0,
        purchases: 0,
        gone: false,
      };
    });
    this.churnDays = options.churnDays ?? 7;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private between(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private personaOf(): Persona {
    let roll = this.random();
    for (const [name, persona] of Object.entries(PERSONAS)) {
      roll -= persona.share;
      if (roll < 0) return name as Persona;
    }
    return 'bouncer';
  }

  /** One visit: pages, maybe a form, maybe a cart, a purchase and a survey after it. */
  private visit(customer: Customer, startMs: number, souring: boolean): GeneratedEvent[] {
    const persona = PERSONAS[customer.persona];
    const known = customer.visits >= customer.anonymousVisits;
    customer.visits++;
    const session = `s-${uuidFrom(this.random).slice(0, 18)}`;
    const base: VisitEvent = (offsetMs) => ({
      event_id: uuidFrom(this.random),
      occurred_at: new Date(startMs + offsetMs).toISOString(),
      customer_id: known ? customer.id : null,
      anonymous_id: customer.anonymousId,
      session_id: session,
      segment: customer.segment,
      channel: this.random() < 0.7 ? 'web' : 'app',
    });
    const events: GeneratedEvent[] = [];
    let at = this.pageViews(base, persona, events);
    if (this.random() < persona.form) at = this.formSubmission(base, at, events);
    const buys = known && this.random() < (customer.purchases > 0 ? persona.rebuy : persona.buy) * (souring ? 0.3 : 1);
    if (buys || (known && persona.buy > 0 && this.random() < (souring ? 0.3 : 0.12))) at = this.cart(base, at, buys, events);
    if (buys) at = this.purchase(base, at, customer, events);
    if (known && (buys || this.random() < 0.25)) events.push({ ...base(at), type: 'survey_response', properties: this.survey(souring) });
    // Some buyers also review the shop in public, as sour as the segment is.
    if (buys && this.random() < 0.15) events.push({ ...base(at + 86_400_000), type: 'review', properties: this.review(souring) });
    // Some saw the shop's post before they came.
    if (this.random() < 0.12)
      events.push({ ...base(-this.between(600_000, 4 * 3_600_000)), channel: 'social', ...this.social(customer, souring) });
    return events;
  }

  /** The visit's pages, one after another; returns when the last one ends. */
  private pageViews(base: VisitEvent, persona: (typeof PERSONAS)[Persona], events: GeneratedEvent[]): number {
    let at = 0;
    const pages = this.between(persona.pages[0], persona.pages[1]);
    for (let p = 0; p < pages; p++) {
      const pageType =
        p === 0
          ? this.pick(['home', 'blog', 'product'] as const)
          : this.pick(['product', 'pricing', 'blog', 'support', 'product'] as const);
      const shown = pageType === 'product' || pageType === 'pricing';
      const duration = this.between(3_000, 120_000);
      events.push({
        ...base(at),
        type: 'page_view',
        properties: {
          url: `https://shop.example/${pageType}/${String(this.between(1, 40))}`,
          page_type: pageType,
          duration_ms: duration,
          cta_shown: shown,
          cta_clicked: shown && this.random() < 0.12,
        },
      });
      at += duration;
    }
    return at;
  }

  private formSubmission(base: VisitEvent, at: number, events: GeneratedEvent[]): number {
    const formType = this.pick(['newsletter', 'demo_request', 'contact', 'signup'] as const);
    // Sign-up forms ask how the customer heard of the shop.
    const asks = formType === 'signup' || formType === 'newsletter';
    events.push({
      ...base(at),
      type: 'form_submission',
      properties: { form_id: `${formType}-form`, form_type: formType, ...(asks && { referral_source: this.pick(REFERRAL_SOURCES) }) },
    });
    return at + 20_000;
  }

  /** A product added to a cart; when the visit does not buy, the cart is left, sometimes at the checkout itself. */
  private cart(base: VisitEvent, at: number, buys: boolean, events: GeneratedEvent[]): number {
    const cart = `k-${uuidFrom(this.random).slice(0, 13)}`;
    const product = `sku-${String(this.between(1, 40))}`;
    events.push({
      ...base(at),
      type: 'cart',
      properties: { action: 'add_to_cart', cart_id: cart, product_id: product, quantity: this.between(1, 3) },
    });
    const after = at + 15_000;
    if (!buys) {
      const leaves = this.random() < 0.6;
      events.push({
        ...base(after),
        type: 'cart',
        properties: leaves
          ? { action: 'checkout_started', cart_id: cart }
          : { action: 'remove_from_cart', cart_id: cart, product_id: product },
      });
    }
    return after;
  }

  /** The checkout page and the order, in the segment's currency. */
  private purchase(base: VisitEvent, at: number, customer: Customer, events: GeneratedEvent[]): number {
    const money = MONEY[customer.segment] ?? DEFAULT_MONEY;
    const amount = money.min + this.random() * (money.max - money.min);
    events.push({
      ...base(at),
      type: 'page_view',
      properties: { url: 'https://shop.example/checkout', page_type: 'checkout', duration_ms: this.between(20_000, 90_000) },
    });
    events.push({
      ...base(at + 60_000),
      type: 'purchase',
      properties: {
        order_id: `o-${uuidFrom(this.random).slice(0, 13)}`,
        amount: amount.toFixed(money.decimals),
        currency: money.currency,
        items: this.between(1, 4),
      },
    });
    customer.purchases++;
    return at + 60_000 + 3_600_000;
  }

  /** A like, share, video view or comment on one of the networks the segment uses. */
  private social(customer: Customer, souring: boolean) {
    const action = this.pick(['like', 'like', 'like', 'video_view', 'video_view', 'share', 'comment'] as const);
    const network = this.pick(NETWORKS[customer.segment] ?? DEFAULT_NETWORKS);
    const mood: Mood = souring ? (this.random() < 0.6 ? 'negative' : 'neutral') : this.random() < 0.7 ? 'positive' : 'neutral';
    return {
      type: 'social_engagement',
      properties: {
        action,
        network,
        post_id: `post-${String(this.between(1, 30))}`,
        ...(action === 'comment' && { comment: this.pick(COMMENTS[mood]) }),
      },
    };
  }

  /** A survey answer: mostly content, sour when the segment sours; a comment in the customer's language of the day. */
  private survey(souring: boolean) {
    const type = this.pick(['nps', 'nps', 'csat', 'ces'] as const) satisfies (typeof SURVEY_TYPES)[number];
    const mood: Mood = souring
      ? this.random() < 0.65
        ? 'negative'
        : this.pick(['neutral', 'positive'] as const)
      : this.random() < 0.7
        ? 'positive'
        : this.random() < 0.6
          ? 'neutral'
          : 'negative';
    const score =
      type === 'nps'
        ? mood === 'positive'
          ? this.between(9, 10)
          : mood === 'neutral'
            ? this.between(7, 8)
            : this.between(0, 6)
        : type === 'csat'
          ? mood === 'positive'
            ? this.between(4, 5)
            : mood === 'neutral'
              ? 3
              : this.between(1, 2)
          : mood === 'positive'
            ? this.between(1, 2)
            : mood === 'neutral'
              ? 3
              : this.between(4, 5);
    const comment = this.random() < 0.6 ? this.pick(COMMENTS[mood]) : null;
    // Some surveys are asked on more points: CSAT on 10, CES on 7, half of those as agreement.
    if (type === 'csat' && this.random() < 0.3) return { survey_type: type, score: ON_TEN[score - 1], scale: 10, comment };
    if (type === 'ces' && this.random() < 0.3) {
      const effort = ON_SEVEN[score - 1] ?? 4;
      return this.random() < 0.5
        ? { survey_type: type, score: 8 - effort, scale: 7, ces_form: 'agreement', comment }
        : { survey_type: type, score: effort, scale: 7, comment };
    }
    return { survey_type: type, score, comment };
  }

  /** A public review: stars as the mood, sometimes a comment, somewhere customers write them. */
  private review(souring: boolean) {
    const mood: Mood = souring
      ? this.random() < 0.6
        ? 'negative'
        : 'neutral'
      : this.random() < 0.75
        ? 'positive'
        : this.pick(['neutral', 'negative'] as const);
    const rating = mood === 'positive' ? this.between(4, 5) : mood === 'neutral' ? 3 : this.between(1, 2);
    return {
      rating,
      comment: this.random() < 0.7 ? this.pick(COMMENTS[mood]) : null,
      source: this.pick(['google_maps', 'google_maps', 'app_store', 'site', 'marketplace'] as const),
    };
  }

  /** Arrival as backends send: a few late (after later events), a few twice, a few invalid. */
  private arrival(events: GeneratedEvent[]): GeneratedEvent[] {
    const sent = [...events];
    for (let i = 0; i < sent.length; i++) {
      if (this.random() < 0.02) {
        const j = Math.min(sent.length - 1, i + this.between(1, 200));
        [sent[i], sent[j]] = [sent[j] as GeneratedEvent, sent[i] as GeneratedEvent];
      }
    }
    for (const event of events) if (this.random() < 0.01) sent.push(event);
    if (events.length > 0 && this.random() < Math.min(1, events.length / 500)) sent.push(this.invalid(this.pick(events)));
    return sent;
  }

  /** What a buggy backend sends: the field named in the refusal. */
  private invalid(like: GeneratedEvent): GeneratedEvent {
    return this.pick([
      { ...like, event_id: uuidFrom(this.random), type: 'survey_response', properties: { survey_type: 'nps', score: 11 } },
      { ...like, event_id: 'not-a-uuid' },
      { ...like, event_id: uuidFrom(this.random), occurred_at: 'yesterday' },
    ]);
  }

  day(index: number, dayStartMs: number, historyDays: number): GeneratedEvent[] {
    const souring = (customer: Customer) => customer.segment === this.options.churnSegment && index >= historyDays - this.churnDays;
    const events: GeneratedEvent[] = [];
    for (const customer of this.customers) {
      if (customer.gone) continue;
      const sour = souring(customer);
      // Customers who bought go quiet for good now and then (dormancy, churn); many more in a souring segment.
      if (customer.purchases > 0 && this.random() < (sour ? 0.15 : 0.003)) {
        customer.gone = true;
        continue;
      }
      const visits = PERSONAS[customer.persona].visitsPerWeek / 7;
      if (this.random() >= visits) continue;
      events.push(...this.visit(customer, dayStartMs + this.between(6, 22) * 3_600_000 + this.between(0, 3_599_999), sour));
    }
    return this.arrival(events.sort(byTime));
  }

  live(count: number, nowMs: number): GeneratedEvent[] {
    const events: GeneratedEvent[] = [];
    while (events.length < count) {
      const customer = this.pick(this.customers);
      if (customer.gone) continue;
      // A visit that starts a little in the past, so its pages are not in the future.
      events.push(...this.visit(customer, nowMs - this.between(60_000, 900_000), false));
    }
    return this.arrival(events.filter((event) => Date.parse(String(event.occurred_at)) <= nowMs).sort(byTime));
  }
}

const byTime = (a: GeneratedEvent, b: GeneratedEvent) => String(a.occurred_at).localeCompare(String(b.occurred_at));

export function traffic(options: TrafficOptions): Traffic {
  return new TrafficGenerator(options);
}
