/**
 * The state one processor instance keeps for one input partition: its customers, its open daily
 * windows and its stream time. It applies events with the pure rules and remembers what changed,
 * so the consumer loop can publish outputs and changelog records for exactly that, in one
 * transaction. Everything here can be rebuilt from the changelog records it emits.
 */
import { isJsonCustomer, packCustomer, unpackCustomer, type StoredCustomer } from './customer-codec.ts';
import { ALL_SEGMENTS, commentOf, UNASSIGNED_SEGMENT, type EventOf, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { atRiskReasonsOf, type AtRiskReason } from '../rules/at-risk.ts';
import type {
  CustomerAtRiskRecord,
  CustomerProfileRecord,
  SegmentKpiPartial,
  StageTransitionRecord,
} from '../../../schemas/processor-outputs.ts';
import { windowDeltasOf, NO_TRACK, pruneTrack } from '../rules/window-deltas.ts';
import {
  addDeltaInto,
  ownCopyOf,
  EMPTY_WINDOW,
  parseWindowKey,
  segmentsOf,
  windowCountsFromJson,
  windowCountsToJson,
  windowKeyOf,
  type WindowCounts,
  type WindowDelta,
} from '../rules/window-counts.ts';
import { applyToCustomer, profileOf, type CustomerState } from '../rules/customer.ts';
import { handOverOf, mergeIdentities } from '../rules/merge.ts';
import { fromMinorUnits } from '../rules/kpis.ts';
import { ROLLING_LOOKBACK_DAYS, VISIT_LOOKBACK_DAYS, rollingSteps, type RollingDelta } from '../rules/rolling.ts';
import {
  addSteps,
  foldBefore,
  newSegmentRolling,
  rollingAt,
  rollingFromJson,
  rollingToJson,
  touchedSpan,
  type SegmentRolling,
} from '../rules/rolling-counters.ts';
import { analyseComment } from '../../sentiment/sentiment.ts';
import { CONVERTED_STAGES } from '../../../schemas/processor-outputs.ts';
import { isConversion, type StageEvidence, type StageRules, type StageTransition } from '../rules/stage.ts';
import { tally } from '../rules/tally.ts';
import { addDays, dayEnd, dayName, dayNumber, dayOf, latenessOf, type Day } from '../rules/calendar.ts';
import { changelogKey, changelogPartOf } from './changelog-keys.ts';
import { RecentEventIds, type DedupLimits, type RecentEventIdsJson } from './recent-event-ids.ts';

export interface ProcessorRules {
  readonly stage: StageRules;
  readonly timeZone: string;
  readonly allowedLatenessMs: number;
  readonly dormantAfterDays: number;
  /** A checkout with no purchase this long after its start is abandoned (CHECKOUT_ABANDONED_AFTER_MIN). */
  readonly checkoutAbandonedAfterMs: number;
  readonly dedup: DedupLimits;
}

interface OpenWindow {
  counts: WindowCounts;
  stageCounts: Record<string, number>;
  dormant: number;
  /** Of those, the ones that went dormant on the window's day. */
  newlyDormant: number;
  /** Whether this partition's stream time had reached the day when the window was last published. */
  reached: boolean;
}

/**
 * too_late: counted for the customer, but past its window's allowed lateness. beyond_dedup_horizon:
 * older than the customer's remembered event_ids reach, so not counted at all (a replay could not
 * be told apart). The consumer sets both aside on the late-events topic.
 */
export type EventOutcome = 'applied' | 'duplicate' | 'too_late' | 'beyond_dedup_horizon';

/** A changelog record: key, and JSON value or null for a tombstone. */
export interface ChangelogRecord {
  readonly key: string;
  /** A customer's state as bytes (customer-codec.ts); windows, rolling counters and stream time as JSON. */
  readonly value: string | Buffer | null;
}

export interface Flushed {
  readonly transitions: readonly StageTransitionRecord[];
  /** Converted customers a survey of theirs put at risk (rules/at-risk.ts). */
  readonly atRisk: readonly CustomerAtRiskRecord[];
  readonly profiles: readonly CustomerProfileRecord[];
  readonly windows: readonly SegmentKpiPartial[];
  readonly changelog: readonly ChangelogRecord[];
}

/** A window as it opens, and a day ahead of stream time as published: nothing counted, no stage snapshot taken. */
const NOTHING_COUNTED: Readonly<OpenWindow> = { counts: EMPTY_WINDOW, stageCounts: {}, dormant: 0, newlyDormant: 0, reached: false };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class PartitionState {
  readonly partition: number;
  private readonly rules: ProcessorRules;
  /**
   * Customers changed since the last flush as objects; every other one packed (customer-codec.ts),
   * as a latin1 string of its bytes: a string lives on the heap, where the limit on state is measured.
   */
  private readonly customers = new Map<string, StoredCustomer | string>();
  private readonly windows = new Map<string, OpenWindow>();
  /** Rolling distinct counters per segment (see rules/rolling.ts). */
  private readonly rolling = new Map<string, SegmentRolling>();
  private streamTime: number | null = null;
  /** Customers per (profile segment, stage), and converted customers per (segment, last-seen day). */
  private readonly stageCounts = new Map<string, Map<string, number>>();
  private readonly convertedLastSeen = new Map<string, Map<Day, number>>();
  /** Converted customers by the day they were last seen: who goes dormant when stream time passes a day. */
  private readonly convertedByLastSeen = new Map<Day, Set<string>>();

  private transitions: StageTransitionRecord[] = [];
  private atRisk: CustomerAtRiskRecord[] = [];
  private readonly dirtyCustomers = new Set<string>();
  private readonly dirtyWindows = new Set<string>();
  /** Windows whose counts are this state's own since the last flush published them: changed in place. */
  private readonly countsCopiedSinceFlush = new Set<string>();
  /** Segments whose rolling counters changed, with the first and last window end (day numbers) that moved. */
  private readonly dirtyRolling = new Map<string, { from: number; to: number }>();
  private readonly closedWindows = new Set<string>();
  /** Customers handed over to another partition since the last flush (identity stitching): tombstoned unless held again. */
  private readonly handedOver = new Set<string>();
  private streamTimeMoved = false;
  /** The days stream time reached since the last flush (day numbers): published for every segment. */
  private daysReached: { from: number; to: number } | null = null;
  /**
   * Days after tomorrow whose rolling counts changed but were not published yet (day numbers, per
   * segment): a flush may hold them back (see flush). In the changelog, so a new owner publishes
   * what an earlier one held.
   */
  private heldAhead = new Map<string, DaySpan>();

  constructor(partition: number, rules: ProcessorRules) {
    this.partition = partition;
    this.rules = rules;
  }

  get streamTimeMs(): number | null {
    return this.streamTime;
  }

  get customerCount(): number {
    return this.customers.size;
  }

  /**
   * Applies one validated event of customer `key` (see partitionKeyOf). Everything that can fail
   * on an odd event is computed before the first change to the state, so an event that throws
   * leaves the state as it was and can be set aside on its own.
   */
  apply(key: string, event: JourneyEvent): EventOutcome {
    const stored = this.customerOf(key);
    const seen = stored?.seen ?? RecentEventIds.empty();
    const sighting = seen.sighting(event.event_id, event.occurred_at);
    if (sighting === 'duplicate') return 'duplicate';
    if (sighting === 'beyond_horizon') return 'beyond_dedup_horizon';
    const step = applyToCustomer(stored?.customer, key, event, this.rules.stage);

    const tooLate =
      this.streamTime !== null &&
      latenessOf(event.occurred_at, this.streamTime, this.rules.allowedLatenessMs, this.rules.timeZone) === 'too_late';
    const customer = step.state;
    const segment = event.segment ?? customer.segment?.value ?? UNASSIGNED_SEGMENT;
    const comment = commentOf(event);
    const sentiment = comment === null ? null : analyseComment(comment).sentiment;
    const atRisk = event.type === 'survey_response' ? atRiskReasonsOf(customer.stage.stage, event, sentiment) : [];
    const { track, deltas } = windowDeltasOf({
      event,
      segment,
      track: stored?.track ?? NO_TRACK,
      firstSeenAt: customer.firstSeenAt,
      transition: step.transition === null ? null : { from: step.transition.from_stage, to: step.transition.to_stage },
      timeZone: this.rules.timeZone,
      countsInWindow: !tooLate,
      sentiment,
      converts: isConversion(event, this.rules.stage.conversions),
      checkoutAbandonedAfterMs: this.rules.checkoutAbandonedAfterMs,
    });
    const steps = rollingSteps({
      before: stored?.track ?? NO_TRACK,
      after: track,
      segments: segmentsOf(segment),
      session: event.session_id,
      day: dayOf(event.occurred_at, this.rules.timeZone),
      timeZone: this.rules.timeZone,
    });

    if (this.streamTime !== null && event.occurred_at > this.streamTime) this.freezeDaysBefore(event.occurred_at);
    this.countInWindows(deltas);
    this.roll(steps);
    this.track(stored?.customer, customer);
    seen.remember(event.event_id, event.occurred_at, this.rules.dedup);
    this.customers.set(key, { customer, track, seen });
    this.dirtyCustomers.add(key);
    if (step.transition) this.pushTransition(customer, step.transition);
    if (atRisk.length > 0 && event.type === 'survey_response')
      this.atRisk.push(atRiskRecord(customer, { at: event.occurred_at, survey: event }, atRisk));
    if (this.streamTime === null || event.occurred_at > this.streamTime) {
      this.streamTime = event.occurred_at;
      this.streamTimeMoved = true;
    }
    return tooLate ? 'too_late' : 'applied';
  }

  /**
   * Identity stitching, the anonymous side: takes the visitor `key` out of this partition (its
   * stage and dormancy counts; its changelog record goes at the flush) and returns its state as
   * bytes for the customer's partition, or null if nothing of it is held here. What it counted in
   * this partition's open windows and rolling counts is taken back (rules/merge.ts).
   */
  handOver(key: string): Buffer | null {
    const stored = this.customerOf(key);
    if (stored === undefined) return null;
    const packed = packCustomer(stored);
    this.customers.delete(key);
    this.dirtyCustomers.delete(key);
    this.handedOver.add(key);
    this.track(stored.customer, undefined);
    const taken = handOverOf(stored.track, this.rules.timeZone);
    this.countInWindows(taken.deltas);
    this.roll(taken.rolling);
    return packed;
  }

  /**
   * Identity stitching, the customer's side: merges the state an anonymous visitor's partition
   * handed over (null: it had none) into customer `key` (rules/merge.ts), correcting this partition's windows.
   * 'overflow', changing nothing, when the customer has merged `maxAnonymousIds` already. A state
   * handed back (`returned`: the customer had no room) is taken back without counting as a merge.
   */
  merge(
    key: string,
    handedOver: Buffer | null,
    link: { readonly at: number; readonly event_id: string },
    options: { readonly maxAnonymousIds: number; readonly returned: boolean },
  ): 'merged' | 'overflow' {
    const stored = this.customerOf(key);
    if (!options.returned && (stored?.customer.anonymousIds ?? 0) >= options.maxAnonymousIds) return 'overflow';
    if (handedOver === null) {
      // A visitor with nothing counted yet: the link still takes one of the customer's places.
      if (stored !== undefined) {
        this.customers.set(key, { ...stored, customer: { ...stored.customer, anonymousIds: stored.customer.anonymousIds + 1 } });
        this.dirtyCustomers.add(key);
      }
      return 'merged';
    }
    const from = unpackCustomer(handedOver, customerFromJson);
    const step = mergeIdentities({
      into: stored,
      from,
      customerId: key,
      link,
      rules: this.rules.stage,
      timeZone: this.rules.timeZone,
      checkoutAbandonedAfterMs: this.rules.checkoutAbandonedAfterMs,
    });
    this.countInWindows(step.deltas);
    this.roll(step.rolling);
    const customer = { ...step.customer, anonymousIds: step.customer.anonymousIds + (options.returned ? 0 : 1) };
    const seen = RecentEventIds.union(stored?.seen ?? RecentEventIds.empty(), from.seen, this.rules.dedup);
    this.track(stored?.customer, customer);
    this.customers.set(key, { customer, track: step.track, seen });
    this.dirtyCustomers.add(key);
    if (step.transition !== null) this.pushTransition(customer, step.transition);
    return 'merged';
  }

  /** Adds an event's (or a merge's) deltas to the windows still open. */
  private countInWindows(deltas: ReadonlyMap<string, WindowDelta>): void {
    for (const [windowKey, delta] of deltas) {
      // Closed for good (even if not evicted until the next flush): too-late contributions do not count.
      if (!this.isOpen(parseWindowKey(windowKey).day)) continue;
      const window = this.windows.get(windowKey) ?? this.openWindow(windowKey);
      if (!this.countsCopiedSinceFlush.has(windowKey)) {
        window.counts = ownCopyOf(window.counts);
        this.countsCopiedSinceFlush.add(windowKey);
      }
      addDeltaInto(window.counts, delta);
      this.dirtyWindows.add(windowKey);
    }
  }

  /** Adds rolling steps per segment, remembering the window ends they moved. */
  private roll(steps: ReadonlyMap<string, RollingDelta>): void {
    // Steps at closed window ends are harmless: only open windows are ever read from them.
    for (const [rollingSegment, delta] of steps) {
      const counters = this.rolling.get(rollingSegment) ?? newSegmentRolling();
      addSteps(counters, delta);
      this.rolling.set(rollingSegment, counters);
      const moved = this.dirtyRolling.get(rollingSegment) ?? { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
      const span = touchedSpan(delta);
      if (span !== null) {
        moved.from = Math.min(moved.from, span[0]);
        moved.to = Math.max(moved.to, span[1]);
      }
      this.dirtyRolling.set(rollingSegment, moved);
    }
  }

  private pushTransition(customer: CustomerState, t: StageTransition): void {
    this.transitions.push({
      customer_id: customer.customerId,
      segment: customer.segment?.value ?? null,
      from_stage: t.from_stage,
      to_stage: t.to_stage,
      at: new Date(t.at).toISOString(),
      event_id: t.event_id,
    });
  }

  /**
   * Everything that changed since the last flush, as outputs and changelog records. `revision`
   * orders the shares of a (segment, day): the input position the flush covers (the consumer
   * passes its batch's next offset), so it grows with every flush, also across restarts and replays,
   * without a counter kept per window. `farAhead` false holds back the days after tomorrow whose
   * rolling counts changed (a new visitor moves the 30 days ahead of it, in every batch): they go
   * out with a later flush, or alone (flushHeldAhead).
   */
  flush(revision: number, farAhead = true): Flushed {
    const today = this.streamTime === null ? null : dayOf(this.streamTime, this.rules.timeZone);
    const oldestOpenDay = this.oldestOpenDay();
    const changelog: ChangelogRecord[] = [];
    const profiles: CustomerProfileRecord[] = [];
    for (const key of this.dirtyCustomers) {
      const stored = this.customerOf(key);
      if (stored === undefined) continue;
      stored.seen.forgetOutsideWindow(stored.customer.lastSeenAt, this.rules.dedup);
      // Marks stay as long as a rolling window that is still open can reach back to them.
      const pruned =
        oldestOpenDay === null
          ? stored
          : {
              ...stored,
              track: pruneTrack(
                stored.track,
                addDays(oldestOpenDay, -ROLLING_LOOKBACK_DAYS),
                addDays(oldestOpenDay, -VISIT_LOOKBACK_DAYS),
                { oldestOpenDay, abandonedAfterMs: this.rules.checkoutAbandonedAfterMs, timeZone: this.rules.timeZone },
              ),
            };
      const packed = packCustomer(pruned);
      this.customers.set(key, packed.toString('latin1'));
      changelog.push({ key: changelogKey.customer(key), value: packed });
      profiles.push(toProfileRecord(pruned.customer));
    }
    // A day whose rolling counts changed is published, even one without events of its own, and
    // even one ahead of this partition's stream time (other partitions may be there already), up
    // to the longest window ahead. Month-over-month returning visitors reach a month further; those
    // days go out when stream time reaches them (below), not on every visit before.
    const ahead: SegmentKpiPartial[] = [];
    const aheadUntil = today === null ? Number.POSITIVE_INFINITY : dayNumber(today) + ROLLING_LOOKBACK_DAYS;
    const holdAfter = today === null || farAhead ? Number.POSITIVE_INFINITY : dayNumber(today) + 1;
    const held = new Map<string, DaySpan>();
    for (const [segment, { from, to }] of this.rollingToPublish()) {
      for (let end = from; end <= Math.min(to, aheadUntil); end++) {
        const day = dayName(end);
        if (!this.isOpen(day)) continue;
        const windowKey = windowKeyOf(segment, day);
        if (today !== null && day > today && !this.windows.has(windowKey)) {
          // Ahead of stream time a day holds only rolling counts, which the rolling record keeps:
          // published, not kept (no window, no changelog record of its own).
          if (end > holdAfter) widen(held, segment, end, end);
          else ahead.push(this.partial(segment, day, NOTHING_COUNTED, revision));
          continue;
        }
        if (!this.windows.has(windowKey)) this.openWindow(windowKey);
        this.dirtyWindows.add(windowKey);
      }
    }
    const heldChange = this.holdAhead(held);
    // The days stream time reached go out for every segment held here, with its rolling counts as
    // of then, whether it was published ahead or not.
    if (this.daysReached !== null) {
      const segments = new Set([...this.rolling.keys(), ...this.segmentsWithCustomers()]);
      for (let end = this.daysReached.from; end <= this.daysReached.to; end++) {
        const day = dayName(end);
        if (!this.isOpen(day)) continue;
        for (const segment of segments) {
          const windowKey = windowKeyOf(segment, day);
          if (!this.windows.has(windowKey)) this.openWindow(windowKey);
          this.dirtyWindows.add(windowKey);
        }
      }
    }
    // A window kept ahead of stream time (one a merge counted in, or one restored from before ahead
    // days were kept apart) goes out again once stream time reaches it.
    for (const [windowKey, window] of this.windows) {
      if (!window.reached && today !== null && parseWindowKey(windowKey).day <= today) this.dirtyWindows.add(windowKey);
    }
    const windows: SegmentKpiPartial[] = [];
    for (const windowKey of this.dirtyWindows) {
      const window = this.windows.get(windowKey);
      if (window === undefined) continue;
      const { segment, day } = parseWindowKey(windowKey);
      if (day === today) this.snapshot(window, segment, day);
      window.reached = today !== null && day <= today;
      windows.push(this.partial(segment, day, window, revision));
      changelog.push({
        key: changelogKey.window(windowKey),
        value: JSON.stringify({ ...window, counts: windowCountsToJson(window.counts) }),
      });
    }
    // Evict only after the final revision of a window that closed in this batch went out above.
    if (this.streamTimeMoved) this.closeWindows();
    if (this.streamTimeMoved && oldestOpenDay !== null) {
      for (const [segment, counters] of this.rolling) {
        if (foldBefore(counters, oldestOpenDay) && !this.dirtyRolling.has(segment)) this.dirtyRolling.set(segment, { from: 0, to: -1 });
      }
    }
    for (const segment of this.dirtyRolling.keys()) {
      const counters = this.rolling.get(segment);
      if (counters !== undefined) changelog.push({ key: changelogKey.rolling(segment), value: rollingToJson(counters) });
    }
    for (const windowKey of this.closedWindows) changelog.push({ key: changelogKey.window(windowKey), value: null });
    // A visitor handed back in the same batch is held again: its record went out above.
    for (const key of this.handedOver) if (!this.customers.has(key)) changelog.push({ key: changelogKey.customer(key), value: null });
    if (this.streamTimeMoved && this.streamTime !== null) changelog.push({ key: changelogKey.streamTime, value: String(this.streamTime) });
    if (heldChange !== undefined) changelog.push(heldChange);

    const flushed = { transitions: this.transitions, atRisk: this.atRisk, profiles, windows: windows.concat(ahead), changelog };
    this.transitions = [];
    this.atRisk = [];
    this.dirtyCustomers.clear();
    this.dirtyWindows.clear();
    this.countsCopiedSinceFlush.clear();
    this.dirtyRolling.clear();
    this.closedWindows.clear();
    this.handedOver.clear();
    this.streamTimeMoved = false;
    this.daysReached = null;
    return flushed;
  }

  /** Whether some days ahead were held back (flush with `farAhead` false). */
  get holdsDaysAhead(): boolean {
    return this.heldAhead.size > 0;
  }

  /**
   * The days ahead held back, published alone (between batches, when the partition went quiet),
   * with the changelog record that they are out. Reads the rolling counters and changes nothing
   * else, so it can never count an event.
   */
  flushHeldAhead(revision: number): { readonly windows: SegmentKpiPartial[]; readonly changelog: ChangelogRecord[] } {
    const windows: SegmentKpiPartial[] = [];
    // Only a flush with stream time holds days back.
    const today = this.streamTime === null ? null : dayOf(this.streamTime, this.rules.timeZone);
    if (today !== null)
      for (const [segment, { from, to }] of this.heldAhead) {
        for (let end = from; end <= to; end++) {
          const day = dayName(end);
          if (day > today && !this.windows.has(windowKeyOf(segment, day)))
            windows.push(this.partial(segment, day, NOTHING_COUNTED, revision));
        }
      }
    const change = this.holdAhead(new Map());
    return { windows, changelog: change === undefined ? [] : [change] };
  }

  /** The rolling counts' days to publish, per segment: those that changed since the last flush and those held back. */
  private rollingToPublish(): Map<string, DaySpan> {
    const spans = new Map<string, DaySpan>();
    for (const [segment, { from, to }] of this.dirtyRolling) widen(spans, segment, from, to);
    for (const [segment, { from, to }] of this.heldAhead) widen(spans, segment, from, to);
    return spans;
  }

  /** Holds `held` back from now on: the changelog record that says so, if it changed. */
  private holdAhead(held: Map<string, DaySpan>): ChangelogRecord | undefined {
    const json = (spans: Map<string, DaySpan>) => JSON.stringify(Object.fromEntries(spans));
    if (json(held) === json(this.heldAhead)) return undefined;
    this.heldAhead = held;
    return { key: changelogKey.heldAhead, value: held.size === 0 ? null : json(held) };
  }

  /** Rebuilds from changelog records (latest per key; null deletes). */
  restore(key: string, record: string | Buffer | null): void {
    const part = changelogPartOf(key);
    if (part?.kind === 'customer') {
      const previous = this.customerOf(part.customer);
      if (record === null) {
        this.customers.delete(part.customer);
        this.track(previous?.customer, undefined);
        return;
      }
      const bytes = typeof record === 'string' ? Buffer.from(record, 'utf8') : record;
      const stored = unpackCustomer(bytes, customerFromJson);
      this.track(previous?.customer, stored.customer);
      this.customers.set(part.customer, (isJsonCustomer(bytes) ? packCustomer(stored) : bytes).toString('latin1'));
      return;
    }
    const value = record === null ? null : record.toString();
    switch (part?.kind) {
      case 'window': {
        if (value === null) {
          this.windows.delete(part.window);
          return;
        }
        // newlyDormant: absent from windows written before it existed. revision: a counter windows
        // written before flushes took the input position kept; not needed now.
        const { revision: _counter, ...parsed } = JSON.parse(value) as Omit<OpenWindow, 'counts' | 'newlyDormant'> & {
          counts: Record<string, unknown>;
          newlyDormant?: number;
          revision?: number;
        };
        this.windows.set(part.window, { ...parsed, newlyDormant: parsed.newlyDormant ?? 0, counts: windowCountsFromJson(parsed.counts) });
        return;
      }
      case 'rolling':
        if (value === null) this.rolling.delete(part.segment);
        else this.rolling.set(part.segment, rollingFromJson(value));
        return;
      case 'heldAhead':
        this.heldAhead = new Map(value === null ? [] : Object.entries(JSON.parse(value) as Record<string, DaySpan>));
        return;
      case 'streamTime':
        if (value !== null) this.streamTime = Number(value);
        return;
      case undefined:
        return;
    }
  }

  private partial(segment: string, day: Day, window: Readonly<OpenWindow>, revision: number): SegmentKpiPartial {
    const { transitionsTo, revenueMinor, revenueByCurrency, ordersByCurrency, socialByNetwork, ...numbers } = window.counts;
    return {
      segment,
      day,
      time_zone: this.rules.timeZone,
      partition: this.partition,
      revision,
      counts: { ...numbers, revenueMinor: revenueMinor.toString() },
      transitions_to: transitionsTo,
      revenue_by_currency: Object.fromEntries(
        Object.entries(revenueByCurrency).map(([currency, minor]) => [currency, fromMinorUnits(minor)]),
      ),
      orders_by_currency: ordersByCurrency,
      social_by_network: socialByNetwork,
      stage_counts: window.stageCounts,
      dormant_customers: window.dormant,
      newly_dormant_customers: window.newlyDormant,
      rolling: rollingAt(this.rolling.get(segment), day),
      day_reached: window.reached,
    };
  }

  private openWindow(windowKey: string): OpenWindow {
    const window: OpenWindow = { ...NOTHING_COUNTED, stageCounts: {} };
    this.windows.set(windowKey, window);
    return window;
  }

  private isOpen(day: Day): boolean {
    return this.streamTime === null || this.streamTime < dayEnd(day, this.rules.timeZone) + this.rules.allowedLatenessMs;
  }

  private oldestOpenDay(): Day | null {
    if (this.streamTime === null) return null;
    // The oldest day whose window can still be revised: its end plus the lateness is after now.
    let day = dayOf(this.streamTime - this.rules.allowedLatenessMs, this.rules.timeZone);
    while (!this.isOpen(day)) day = addDays(day, 1);
    return day;
  }

  private closeWindows(): void {
    for (const windowKey of this.windows.keys()) {
      if (!this.isOpen(parseWindowKey(windowKey).day)) {
        this.windows.delete(windowKey);
        this.closedWindows.add(windowKey);
      }
    }
  }

  /**
   * Takes the stage and dormancy snapshot of the current day's windows when stream time moves past
   * that day, before the event that moves it is counted: the snapshot is then a function of the
   * events, not of where batch boundaries fell, so a restarted run emits the same values.
   */
  private freezeDaysBefore(newStreamTime: number): void {
    if (this.streamTime === null) return;
    const today = dayOf(this.streamTime, this.rules.timeZone);
    const newDay = dayOf(newStreamTime, this.rules.timeZone);
    if (newDay <= today) return;
    // No event came between today and the new day, so the stage counts at the end of each day in
    // between are today's: every segment with customers here gets them, also on days without events
    // of its own. Skipped days already closed at the new stream time are not published.
    const oldestStillOpen = dayOf(newStreamTime - this.rules.allowedLatenessMs, this.rules.timeZone);
    const days = [today];
    const tomorrow = addDays(today, 1);
    for (let day = oldestStillOpen > tomorrow ? oldestStillOpen : tomorrow; day < newDay; day = addDays(day, 1)) {
      if (newStreamTime < dayEnd(day, this.rules.timeZone) + this.rules.allowedLatenessMs) days.push(day);
    }
    this.goneDormant(today, newDay);
    const reached = { from: dayNumber(addDays(today, 1)), to: dayNumber(newDay) };
    this.daysReached = this.daysReached === null ? reached : { from: this.daysReached.from, to: reached.to };
    const segments = this.segmentsWithCustomers();
    for (const day of days) {
      for (const segment of segments) {
        const windowKey = windowKeyOf(segment, day);
        const window = this.windows.get(windowKey) ?? this.openWindow(windowKey);
        this.snapshot(window, segment, day);
        this.dirtyWindows.add(windowKey);
      }
    }
  }

  /** The segments some customer held here is in. */
  private segmentsWithCustomers(): string[] {
    return [...this.stageCounts].filter(([, stages]) => stages.size > 0).map(([segment]) => segment);
  }

  /**
   * Converted customers whose dormancy day (last seen + DORMANT_AFTER_DAYS) is in [from, to), now
   * that stream time has passed those days: each is at risk, once. Days behind are forgotten.
   */
  private goneDormant(from: Day, to: Day): void {
    // In day order, whatever order the index was built in (a restored partition builds it from its changelog).
    for (const lastSeenDay of [...this.convertedByLastSeen.keys()].sort()) {
      const customers = this.convertedByLastSeen.get(lastSeenDay) ?? new Set<string>();
      const dormantOn = addDays(lastSeenDay, this.rules.dormantAfterDays);
      if (dormantOn < to) this.convertedByLastSeen.delete(lastSeenDay);
      if (dormantOn < from || dormantOn >= to) continue;
      const at = dayEnd(dormantOn, this.rules.timeZone);
      for (const key of [...customers].sort()) {
        const customer = this.customerOf(key)?.customer;
        if (customer !== undefined) this.atRisk.push(atRiskRecord(customer, { at }, ['dormant']));
      }
    }
  }

  /** A customer's state as objects, unpacked if it was at rest. */
  private customerOf(key: string): StoredCustomer | undefined {
    const held = this.customers.get(key);
    return typeof held === 'string' ? unpackCustomer(Buffer.from(held, 'latin1'), customerFromJson) : held;
  }

  private snapshot(window: OpenWindow, segment: string, day: Day): void {
    window.stageCounts = Object.fromEntries(this.stageCounts.get(segment) ?? []);
    const { dormant, newlyDormant } = this.dormantAt(segment, day);
    window.dormant = dormant;
    window.newlyDormant = newlyDormant;
  }

  /** Converted customers silent for DORMANT_AFTER_DAYS by the end of `day`, and those whose silence reached it that day. */
  private dormantAt(segment: string, day: Day): { dormant: number; newlyDormant: number } {
    const cutoff = addDays(day, -this.rules.dormantAfterDays);
    let dormant = 0;
    let newlyDormant = 0;
    for (const [lastSeenDay, n] of this.convertedLastSeen.get(segment) ?? []) {
      if (lastSeenDay <= cutoff) dormant += n;
      if (lastSeenDay === cutoff) newlyDormant += n;
    }
    return { dormant, newlyDormant };
  }

  /** Keeps the stage and dormancy histograms in step with one customer's change. */
  private track(before: CustomerState | undefined, after: CustomerState | undefined): void {
    const lastSeen = (c: CustomerState | undefined) =>
      c !== undefined && CONVERTED_STAGES.has(c.stage.stage) ? dayOf(c.lastSeenAt, this.rules.timeZone) : undefined;
    const [was, is] = [lastSeen(before), lastSeen(after)];
    // Most events leave a customer's stage, segment and last-seen day as they were: nothing moves.
    const segmentOf = (c: CustomerState) => c.segment?.value ?? UNASSIGNED_SEGMENT;
    if (
      before !== undefined &&
      after !== undefined &&
      was === is &&
      before.stage.stage === after.stage.stage &&
      segmentOf(before) === segmentOf(after)
    )
      return;
    if (was !== is) {
      const key = (after ?? before)?.customerId ?? '';
      if (was !== undefined) this.convertedByLastSeen.get(was)?.delete(key);
      if (is !== undefined) this.convertedByLastSeen.set(is, (this.convertedByLastSeen.get(is) ?? new Set()).add(key));
    }
    const entries = (c: CustomerState | undefined) => {
      if (c === undefined) return [];
      const segment = segmentOf(c);
      return segment === ALL_SEGMENTS
        ? [{ c, segment }]
        : [
            { c, segment },
            { c, segment: ALL_SEGMENTS },
          ];
    };
    // The last-seen day of a converted customer, computed once above, feeds the dormancy histogram too.
    for (const [sign, list, lastSeenDay] of [
      [-1, entries(before), was],
      [1, entries(after), is],
    ] as const) {
      for (const { c, segment } of list) {
        const stages = this.stageCounts.get(segment) ?? new Map<string, number>();
        tally(stages, c.stage.stage, sign);
        this.stageCounts.set(segment, stages);
        if (lastSeenDay !== undefined) {
          const days = this.convertedLastSeen.get(segment) ?? new Map<Day, number>();
          tally(days, lastSeenDay, sign);
          this.convertedLastSeen.set(segment, days);
        }
      }
    }
  }
}

/** Days from `from` to `to`, as day numbers. */
interface DaySpan {
  readonly from: number;
  readonly to: number;
}

/** Widens a segment's span of day numbers to take in [from, to]. */
function widen(spans: Map<string, DaySpan>, segment: string, from: number, to: number): void {
  if (from > to) return;
  const span = spans.get(segment);
  if (span === undefined) spans.set(segment, { from, to });
  else spans.set(segment, { from: Math.min(span.from, from), to: Math.max(span.to, to) });
}

/** A customer's changelog value; records written before ids were bounded list them all in the customer. */
function customerFromJson(value: string): StoredCustomer {
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

/** `because.survey` is the survey that put the customer at risk; none when silence did (dormancy). */
function atRiskRecord(
  customer: CustomerState,
  because: { at: number; survey?: EventOf<'survey_response'> },
  reasons: readonly AtRiskReason[],
): CustomerAtRiskRecord {
  const profile = profileOf(customer);
  const { survey } = because;
  return {
    customer_id: customer.customerId,
    segment: profile.segment,
    stage: profile.stage,
    reasons: [...reasons],
    at: new Date(because.at).toISOString(),
    event_id: survey?.event_id ?? null,
    survey_type: survey?.properties.survey_type ?? null,
    score: survey?.properties.score ?? null,
    comment: survey?.properties.comment ?? null,
    revenue: profile.revenue,
    revenue_by_currency: profile.revenue_by_currency,
    orders: profile.purchases,
  };
}

function toProfileRecord(customer: CustomerState): CustomerProfileRecord {
  const p = profileOf(customer);
  return {
    ...p,
    stage_since: iso(p.stage_since),
    first_seen_at: new Date(p.first_seen_at).toISOString(),
    last_seen_at: new Date(p.last_seen_at).toISOString(),
    first_purchase_at: iso(p.first_purchase_at),
  };
}
