/**
 * The state one processor instance keeps for one input partition: its customers (packed at rest),
 * the open daily windows (window-book.ts), the rolling counters (rolling-book.ts), the stage and
 * dormancy histograms (stage-histograms.ts), the days held back (held-days-ahead.ts) and its
 * stream time. It applies events and identity merges with the pure rules and remembers what
 * changed, so that `flush` can publish outputs and changelog records for exactly that, in the
 * batch's transaction. Everything here can be rebuilt from the changelog records it emits.
 */
import { unpackCustomer, type StoredCustomer } from './customer-codec.ts';
import { CustomerStore } from './customer-store.ts';
import { commentOf, UNASSIGNED_SEGMENT, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { atRiskReasonsOf } from '../rules/at-risk.ts';
import type {
  CustomerAtRiskRecord,
  CustomerProfileRecord,
  SegmentKpiRecord,
  StageTransitionRecord,
} from '../../../schemas/processor-outputs.ts';
import { windowDeltasOf, NO_TRACK, pruneTrack } from '../rules/window-deltas.ts';
import { segmentsOf, windowKeyOf } from '../rules/window-counts.ts';
import { applyToCustomer, type CustomerState } from '../rules/customer.ts';
import { handOverOf, mergeIdentities } from '../rules/merge.ts';
import { ROLLING_LOOKBACK_DAYS, VISIT_LOOKBACK_DAYS, rollingSteps } from '../rules/rolling.ts';
import { analyseComment } from '../../sentiment/sentiment.ts';
import { isConversion, type StageRules, type StageTransition } from '../rules/stage.ts';
import { addDays, dayEnd, dayNumber, dayOf, latenessOf, type Day } from '../rules/calendar.ts';
import { changelogKey, changelogPartOf, type ChangelogRecord } from './changelog-keys.ts';
import { customerFromJson } from './customer-json.ts';
import { atRiskRecord, profileRecord } from './output-records.ts';
import { RecentEventIds, type DedupLimits } from './recent-event-ids.ts';
import type { DaySpan } from './rolling-book.ts';
import { KpiBook } from './kpi-book.ts';

export type { ChangelogRecord };

export interface ProcessorRules {
  readonly stage: StageRules;
  readonly timeZone: string;
  readonly allowedLatenessMs: number;
  readonly dormantAfterDays: number;
  /** A checkout with no purchase this long after its start is abandoned (CHECKOUT_ABANDONED_AFTER_MIN). */
  readonly checkoutAbandonedAfterMs: number;
  readonly dedup: DedupLimits;
}

/**
 * too_late: counted for the customer, but past its window's allowed lateness. beyond_dedup_horizon:
 * older than the customer's remembered event_ids reach, so not counted at all (a replay could not
 * be told apart). The consumer sets both aside on the late-events topic.
 */
export type EventOutcome = 'applied' | 'duplicate' | 'too_late' | 'beyond_dedup_horizon';

export interface Flushed {
  readonly transitions: readonly StageTransitionRecord[];
  /** Converted customers a survey of theirs put at risk (rules/at-risk.ts). */
  readonly atRisk: readonly CustomerAtRiskRecord[];
  readonly profiles: readonly CustomerProfileRecord[];
  readonly windows: readonly SegmentKpiRecord[];
  readonly changelog: readonly ChangelogRecord[];
}

export class PartitionState {
  readonly partition: number;
  private readonly rules: ProcessorRules;
  private readonly customers = new CustomerStore();
  private readonly kpis: KpiBook;
  private streamTime: number | null = null;

  // What changed since the last flush, besides the books' own: what `flush` publishes, then forgets.
  private transitions: StageTransitionRecord[] = [];
  private atRisk: CustomerAtRiskRecord[] = [];
  private streamTimeMoved = false;
  /** The days stream time reached since the last flush (day numbers): published for every segment. */
  private daysReached: DaySpan | null = null;

  constructor(partition: number, rules: ProcessorRules) {
    this.partition = partition;
    this.rules = rules;
    this.kpis = new KpiBook(partition, rules, this.isOpen);
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
    const stored = this.customers.get(key);
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
    this.kpis.windows.count(deltas, this.isOpen);
    this.kpis.rolling.add(steps);
    this.kpis.histograms.move(stored?.customer, customer);
    seen.remember(event.event_id, event.occurred_at, this.rules.dedup);
    this.customers.put(key, { customer, track, seen });
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
    const handed = this.customers.handOver(key);
    if (handed === null) return null;
    const { stored, packed } = handed;
    this.kpis.histograms.move(stored.customer, undefined);
    const taken = handOverOf(stored.track, this.rules.timeZone);
    this.kpis.windows.count(taken.deltas, this.isOpen);
    this.kpis.rolling.add(taken.rolling);
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
    const stored = this.customers.get(key);
    if (!options.returned && (stored?.customer.anonymousIds ?? 0) >= options.maxAnonymousIds) return 'overflow';
    if (handedOver === null) {
      // A visitor with nothing counted yet: the link still takes one of the customer's places.
      if (stored !== undefined) {
        this.customers.put(key, { ...stored, customer: { ...stored.customer, anonymousIds: stored.customer.anonymousIds + 1 } });
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
    this.kpis.windows.count(step.deltas, this.isOpen);
    this.kpis.rolling.add(step.rolling);
    const customer = { ...step.customer, anonymousIds: step.customer.anonymousIds + (options.returned ? 0 : 1) };
    const seen = RecentEventIds.union(stored?.seen ?? RecentEventIds.empty(), from.seen, this.rules.dedup);
    this.kpis.histograms.move(stored?.customer, customer);
    this.customers.put(key, { customer, track: step.track, seen });
    if (step.transition !== null) this.pushTransition(customer, step.transition);
    return 'merged';
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
   * orders the KPI records of a (segment, day): the input position the flush covers (the consumer
   * passes its batch's next offset), so it grows with every flush, also across restarts and replays,
   * without a counter kept per window. `farAhead` false holds back the days after tomorrow whose
   * rolling counts changed (a new visitor moves the 30 days ahead of it, in every batch): they go
   * out with a later flush, or alone (flushHeldAhead).
   */
  flush(revision: number, farAhead = true): Flushed {
    const today = this.streamTime === null ? null : dayOf(this.streamTime, this.rules.timeZone);
    const oldestOpenDay = this.oldestOpenDay();
    const changelog: ChangelogRecord[] = [];
    const profiles = this.packChangedCustomers(oldestOpenDay, changelog);
    const { ahead, held } = this.kpis.markRollingDays(today, farAhead, revision);
    const heldChange = this.kpis.heldAhead.replace(held);
    this.kpis.markReachedDays(today, this.daysReached);
    const windows = this.kpis.publishChangedWindows(today, revision, changelog);
    // Evict only after the final revision of a window that closed in this batch went out above.
    if (this.streamTimeMoved) this.kpis.windows.closeWhere(this.isOpen);
    if (this.streamTimeMoved && oldestOpenDay !== null) this.kpis.rolling.foldBefore(oldestOpenDay);
    changelog.push(...this.kpis.rolling.changelogOfMoved(changelogKey.rolling));
    for (const windowKey of this.kpis.windows.closed) changelog.push({ key: changelogKey.window(windowKey), value: null });
    changelog.push(...this.customers.tombstonesOfHandedOver());
    if (this.streamTimeMoved && this.streamTime !== null) changelog.push({ key: changelogKey.streamTime, value: String(this.streamTime) });
    if (heldChange !== undefined) changelog.push(heldChange);

    const flushed = { transitions: this.transitions, atRisk: this.atRisk, profiles, windows: windows.concat(ahead), changelog };
    this.forgetChanges();
    return flushed;
  }

  /** The changed customers packed at rest (their marks pruned to what an open window can reach), with their records. */
  private packChangedCustomers(oldestOpenDay: Day | null, changelog: ChangelogRecord[]): CustomerProfileRecord[] {
    const atRest = (stored: StoredCustomer): StoredCustomer => {
      stored.seen.forgetOutsideWindow(stored.customer.lastSeenAt, this.rules.dedup);
      // Marks stay as long as a rolling window that is still open can reach back to them.
      if (oldestOpenDay === null) return stored;
      const track = pruneTrack(stored.track, addDays(oldestOpenDay, -ROLLING_LOOKBACK_DAYS), addDays(oldestOpenDay, -VISIT_LOOKBACK_DAYS), {
        oldestOpenDay,
        abandonedAfterMs: this.rules.checkoutAbandonedAfterMs,
        timeZone: this.rules.timeZone,
      });
      return { ...stored, track };
    };
    return this.customers.packChanged(atRest, changelog).map((stored) => profileRecord(stored.customer));
  }

  private forgetChanges(): void {
    this.transitions = [];
    this.atRisk = [];
    this.customers.clearChanges();
    this.kpis.windows.clearChanges();
    this.kpis.rolling.clearChanges();
    this.streamTimeMoved = false;
    this.daysReached = null;
  }

  /** Whether some days ahead were held back (flush with `farAhead` false). */
  get holdsDaysAhead(): boolean {
    return this.kpis.heldAhead.size > 0;
  }

  /**
   * The days ahead held back, published alone (between batches, when the partition went quiet),
   * with the changelog record that they are out. Reads the rolling counters and changes nothing
   * else, so it can never count an event.
   */
  flushHeldAhead(revision: number): { readonly windows: SegmentKpiRecord[]; readonly changelog: ChangelogRecord[] } {
    return this.kpis.flushHeldAhead(this.streamTime === null ? null : dayOf(this.streamTime, this.rules.timeZone), revision);
  }

  /** Rebuilds from changelog records (latest per key; null deletes). */
  restore(key: string, record: string | Buffer | null): void {
    const part = changelogPartOf(key);
    if (part?.kind === 'customer') {
      this.restoreCustomer(part.customer, record);
      return;
    }
    const value = record === null ? null : record.toString();
    switch (part?.kind) {
      case 'window':
        this.kpis.windows.restore(part.window, value);
        return;
      case 'rolling':
        this.kpis.rolling.restore(part.segment, value);
        return;
      case 'heldAhead':
        this.kpis.heldAhead.restore(value);
        return;
      case 'streamTime':
        if (value !== null) this.streamTime = Number(value);
        return;
      case undefined:
        return;
    }
  }

  private restoreCustomer(key: string, record: string | Buffer | null): void {
    const { before, after } = this.customers.restore(key, record);
    this.kpis.histograms.move(before?.customer, after?.customer);
  }

  /** Whether a day's window can still be revised: its end plus the allowed lateness is after stream time. */
  private readonly isOpen = (day: Day): boolean =>
    this.streamTime === null || this.streamTime < dayEnd(day, this.rules.timeZone) + this.rules.allowedLatenessMs;

  private oldestOpenDay(): Day | null {
    if (this.streamTime === null) return null;
    // The oldest day whose window can still be revised: its end plus the lateness is after now.
    let day = dayOf(this.streamTime - this.rules.allowedLatenessMs, this.rules.timeZone);
    while (!this.isOpen(day)) day = addDays(day, 1);
    return day;
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
    const segments = this.kpis.histograms.segments();
    for (const day of days) {
      for (const segment of segments) {
        const windowKey = windowKeyOf(segment, day);
        this.kpis.snapshot(this.kpis.windows.open(windowKey), segment, day);
        this.kpis.windows.changed.add(windowKey);
      }
    }
  }

  /** Converted customers whose dormancy day is in [from, to), now that stream time has passed those days: each at risk, once. */
  private goneDormant(from: Day, to: Day): void {
    for (const { dormantOn, customers } of this.kpis.histograms.goneDormant(from, to, this.rules.dormantAfterDays)) {
      const at = dayEnd(dormantOn, this.rules.timeZone);
      for (const key of customers) {
        const customer = this.customers.get(key)?.customer;
        if (customer !== undefined) this.atRisk.push(atRiskRecord(customer, { at }, ['dormant']));
      }
    }
  }
}
