/**
 * The state one processor instance keeps for one input partition: its customers (packed at rest),
 * the open daily windows (window-book.ts), the rolling counters (rolling-book.ts), the stage and
 * dormancy histograms (stage-histograms.ts), the days held back (held-days-ahead.ts) and its
 * stream time. It applies events and identity merges with the pure rules and remembers what
 * changed, so that `flush` can publish outputs and changelog records for exactly that, in the
 * batch's transaction. Everything here can be rebuilt from the changelog records it emits.
 */
import { isJsonCustomer, packCustomer, unpackCustomer, type StoredCustomer } from './customer-codec.ts';
import { commentOf, UNASSIGNED_SEGMENT, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { atRiskReasonsOf } from '../rules/at-risk.ts';
import type {
  CustomerAtRiskRecord,
  CustomerProfileRecord,
  SegmentKpiPartial,
  StageTransitionRecord,
} from '../../../schemas/processor-outputs.ts';
import { windowDeltasOf, NO_TRACK, pruneTrack } from '../rules/window-deltas.ts';
import { parseWindowKey, segmentsOf, windowKeyOf } from '../rules/window-counts.ts';
import { applyToCustomer, type CustomerState } from '../rules/customer.ts';
import { handOverOf, mergeIdentities } from '../rules/merge.ts';
import { ROLLING_LOOKBACK_DAYS, VISIT_LOOKBACK_DAYS, rollingSteps } from '../rules/rolling.ts';
import { analyseComment } from '../../sentiment/sentiment.ts';
import { isConversion, type StageRules, type StageTransition } from '../rules/stage.ts';
import { addDays, dayEnd, dayName, dayNumber, dayOf, latenessOf, type Day } from '../rules/calendar.ts';
import { changelogKey, changelogPartOf, type ChangelogRecord } from './changelog-keys.ts';
import { customerFromJson } from './customer-json.ts';
import { HeldDaysAhead } from './held-days-ahead.ts';
import { atRiskRecord, kpiRecordOf, profileRecord } from './output-records.ts';
import { RecentEventIds, type DedupLimits } from './recent-event-ids.ts';
import { RollingBook, widen, type DaySpan } from './rolling-book.ts';
import { StageHistograms } from './stage-histograms.ts';
import { NOTHING_COUNTED, WindowBook, type OpenWindow } from './window-book.ts';

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
  readonly windows: readonly SegmentKpiPartial[];
  readonly changelog: readonly ChangelogRecord[];
}

export class PartitionState {
  readonly partition: number;
  private readonly rules: ProcessorRules;
  /**
   * Customers changed since the last flush as objects; every other one packed (customer-codec.ts),
   * as a latin1 string of its bytes: a string lives on the heap, where the limit on state is measured.
   */
  private readonly customers = new Map<string, StoredCustomer | string>();
  private readonly windows = new WindowBook();
  private readonly rolling = new RollingBook();
  private readonly histograms: StageHistograms;
  private readonly heldAhead = new HeldDaysAhead();
  private streamTime: number | null = null;

  // What changed since the last flush, besides the books' own: what `flush` publishes, then forgets.
  private transitions: StageTransitionRecord[] = [];
  private atRisk: CustomerAtRiskRecord[] = [];
  private readonly changedCustomers = new Set<string>();
  /** Customers handed over to another partition since the last flush (identity stitching): tombstoned unless held again. */
  private readonly handedOver = new Set<string>();
  private streamTimeMoved = false;
  /** The days stream time reached since the last flush (day numbers): published for every segment. */
  private daysReached: DaySpan | null = null;

  constructor(partition: number, rules: ProcessorRules) {
    this.partition = partition;
    this.rules = rules;
    this.histograms = new StageHistograms(rules.timeZone);
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
    this.windows.count(deltas, this.isOpen);
    this.rolling.add(steps);
    this.histograms.move(stored?.customer, customer);
    seen.remember(event.event_id, event.occurred_at, this.rules.dedup);
    this.customers.set(key, { customer, track, seen });
    this.changedCustomers.add(key);
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
    this.changedCustomers.delete(key);
    this.handedOver.add(key);
    this.histograms.move(stored.customer, undefined);
    const taken = handOverOf(stored.track, this.rules.timeZone);
    this.windows.count(taken.deltas, this.isOpen);
    this.rolling.add(taken.rolling);
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
        this.changedCustomers.add(key);
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
    this.windows.count(step.deltas, this.isOpen);
    this.rolling.add(step.rolling);
    const customer = { ...step.customer, anonymousIds: step.customer.anonymousIds + (options.returned ? 0 : 1) };
    const seen = RecentEventIds.union(stored?.seen ?? RecentEventIds.empty(), from.seen, this.rules.dedup);
    this.histograms.move(stored?.customer, customer);
    this.customers.set(key, { customer, track: step.track, seen });
    this.changedCustomers.add(key);
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
    const { ahead, held } = this.markRollingDays(today, farAhead, revision);
    const heldChange = this.heldAhead.replace(held);
    this.markReachedDays(today);
    const windows = this.publishChangedWindows(today, revision, changelog);
    // Evict only after the final revision of a window that closed in this batch went out above.
    if (this.streamTimeMoved) this.windows.closeWhere(this.isOpen);
    if (this.streamTimeMoved && oldestOpenDay !== null) this.rolling.foldBefore(oldestOpenDay);
    changelog.push(...this.rolling.changelogOfMoved(changelogKey.rolling));
    for (const windowKey of this.windows.closed) changelog.push({ key: changelogKey.window(windowKey), value: null });
    // A visitor handed back in the same batch is held again: its record went out above.
    for (const key of this.handedOver) if (!this.customers.has(key)) changelog.push({ key: changelogKey.customer(key), value: null });
    if (this.streamTimeMoved && this.streamTime !== null) changelog.push({ key: changelogKey.streamTime, value: String(this.streamTime) });
    if (heldChange !== undefined) changelog.push(heldChange);

    const flushed = { transitions: this.transitions, atRisk: this.atRisk, profiles, windows: windows.concat(ahead), changelog };
    this.forgetChanges();
    return flushed;
  }

  /** The changed customers packed at rest (their marks pruned to what an open window can reach), with their records. */
  private packChangedCustomers(oldestOpenDay: Day | null, changelog: ChangelogRecord[]): CustomerProfileRecord[] {
    const profiles: CustomerProfileRecord[] = [];
    for (const key of this.changedCustomers) {
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
      profiles.push(profileRecord(pruned.customer));
    }
    return profiles;
  }

  /**
   * A day whose rolling counts changed is published, even one without events of its own, and even
   * one ahead of this partition's stream time (other partitions may be there already), up to the
   * longest window ahead. Month-over-month returning visitors reach a month further; those days go
   * out when stream time reaches them (markReachedDays), not on every visit before. Days ahead of
   * stream time are published without a window of their own, or held back.
   */
  private markRollingDays(today: Day | null, farAhead: boolean, revision: number) {
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
          else ahead.push(this.kpiRecord(segment, day, NOTHING_COUNTED, revision));
          continue;
        }
        this.windows.open(windowKey);
        this.windows.changed.add(windowKey);
      }
    }
    return { ahead, held };
  }

  /**
   * The days stream time reached go out for every segment held here, with its rolling counts as of
   * then, whether they were published ahead or not; so does a window kept ahead of stream time (one
   * a merge counted in, or one restored from before ahead days were kept apart) once stream time reaches it.
   */
  private markReachedDays(today: Day | null): void {
    if (this.daysReached !== null) {
      const segments = new Set([...this.rolling.segments(), ...this.histograms.segments()]);
      for (let end = this.daysReached.from; end <= this.daysReached.to; end++) {
        const day = dayName(end);
        if (!this.isOpen(day)) continue;
        for (const segment of segments) {
          const windowKey = windowKeyOf(segment, day);
          this.windows.open(windowKey);
          this.windows.changed.add(windowKey);
        }
      }
    }
    for (const [windowKey, window] of this.windows.entries()) {
      if (!window.reached && today !== null && parseWindowKey(windowKey).day <= today) this.windows.changed.add(windowKey);
    }
  }

  /** The KPI records of the windows to publish, with their changelog records; today's take their stage snapshot first. */
  private publishChangedWindows(today: Day | null, revision: number, changelog: ChangelogRecord[]): SegmentKpiPartial[] {
    const records: SegmentKpiPartial[] = [];
    for (const windowKey of this.windows.changed) {
      const window = this.windows.get(windowKey);
      if (window === undefined) continue;
      const { segment, day } = parseWindowKey(windowKey);
      if (day === today) this.snapshot(window, segment, day);
      window.reached = today !== null && day <= today;
      records.push(this.kpiRecord(segment, day, window, revision));
      changelog.push({ key: changelogKey.window(windowKey), value: WindowBook.toJson(window) });
    }
    return records;
  }

  private forgetChanges(): void {
    this.transitions = [];
    this.atRisk = [];
    this.changedCustomers.clear();
    this.windows.clearChanges();
    this.rolling.clearChanges();
    this.handedOver.clear();
    this.streamTimeMoved = false;
    this.daysReached = null;
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
      for (const [segment, { from, to }] of this.heldAhead.entries()) {
        for (let end = from; end <= to; end++) {
          const day = dayName(end);
          if (day > today && !this.windows.has(windowKeyOf(segment, day)))
            windows.push(this.kpiRecord(segment, day, NOTHING_COUNTED, revision));
        }
      }
    const change = this.heldAhead.replace(new Map());
    return { windows, changelog: change === undefined ? [] : [change] };
  }

  /** The rolling counts' days to publish, per segment: those that changed since the last flush and those held back. */
  private rollingToPublish(): Map<string, DaySpan> {
    const spans = new Map<string, DaySpan>();
    for (const [segment, { from, to }] of this.rolling.moved) widen(spans, segment, from, to);
    for (const [segment, { from, to }] of this.heldAhead.entries()) widen(spans, segment, from, to);
    return spans;
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
        this.windows.restore(part.window, value);
        return;
      case 'rolling':
        this.rolling.restore(part.segment, value);
        return;
      case 'heldAhead':
        this.heldAhead.restore(value);
        return;
      case 'streamTime':
        if (value !== null) this.streamTime = Number(value);
        return;
      case undefined:
        return;
    }
  }

  private restoreCustomer(key: string, record: string | Buffer | null): void {
    const previous = this.customerOf(key);
    if (record === null) {
      this.customers.delete(key);
      this.histograms.move(previous?.customer, undefined);
      return;
    }
    const bytes = typeof record === 'string' ? Buffer.from(record, 'utf8') : record;
    const stored = unpackCustomer(bytes, customerFromJson);
    this.histograms.move(previous?.customer, stored.customer);
    this.customers.set(key, (isJsonCustomer(bytes) ? packCustomer(stored) : bytes).toString('latin1'));
  }

  private kpiRecord(segment: string, day: Day, window: Readonly<OpenWindow>, revision: number): SegmentKpiPartial {
    const source = { timeZone: this.rules.timeZone, partition: this.partition, revision };
    return kpiRecordOf(source, segment, day, window, this.rolling.at(segment, day));
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
    const segments = this.histograms.segments();
    for (const day of days) {
      for (const segment of segments) {
        const windowKey = windowKeyOf(segment, day);
        this.snapshot(this.windows.open(windowKey), segment, day);
        this.windows.changed.add(windowKey);
      }
    }
  }

  /** Converted customers whose dormancy day is in [from, to), now that stream time has passed those days: each at risk, once. */
  private goneDormant(from: Day, to: Day): void {
    for (const { dormantOn, customers } of this.histograms.goneDormant(from, to, this.rules.dormantAfterDays)) {
      const at = dayEnd(dormantOn, this.rules.timeZone);
      for (const key of customers) {
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
    window.stageCounts = this.histograms.stagesOf(segment);
    const { dormant, newlyDormant } = this.histograms.dormantAt(segment, day, this.rules.dormantAfterDays);
    window.dormant = dormant;
    window.newlyDormant = newlyDormant;
  }
}
