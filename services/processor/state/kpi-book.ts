/**
 * What a partition publishes about its segments' days: the open windows (window-book.ts), the
 * rolling counters (rolling-book.ts), the stage and dormancy histograms their snapshots read
 * (stage-histograms.ts) and the days held back (held-days-ahead.ts); and, at a flush, which days
 * go out and their KPI records. Whether a day is still open is the partition's (its stream time).
 */
import type { SegmentKpiRecord } from '../../../schemas/processor-outputs.ts';
import { dayName, dayNumber, type Day } from '../rules/calendar.ts';
import { ROLLING_LOOKBACK_DAYS } from '../rules/rolling.ts';
import { parseWindowKey, windowKeyOf } from '../rules/window-counts.ts';
import { changelogKey, type ChangelogRecord } from './changelog-keys.ts';
import { HeldDaysAhead } from './held-days-ahead.ts';
import { kpiRecordOf } from './output-records.ts';
import { RollingBook, widen, type DaySpan } from './rolling-book.ts';
import { StageHistograms } from './stage-histograms.ts';
import { NOTHING_COUNTED, WindowBook, type OpenWindow } from './window-book.ts';

export class KpiBook {
  readonly windows = new WindowBook();
  readonly rolling = new RollingBook();
  readonly histograms: StageHistograms;
  readonly heldAhead = new HeldDaysAhead();
  private readonly partition: number;
  private readonly timeZone: string;
  private readonly dormantAfterDays: number;
  private readonly isOpen: (day: Day) => boolean;

  constructor(
    partition: number,
    settings: { readonly timeZone: string; readonly dormantAfterDays: number },
    isOpen: (day: Day) => boolean,
  ) {
    this.partition = partition;
    this.timeZone = settings.timeZone;
    this.dormantAfterDays = settings.dormantAfterDays;
    this.histograms = new StageHistograms(settings.timeZone);
    this.isOpen = isOpen;
  }

  /**
   * A day whose rolling counts changed is published, even one without events of its own, and even
   * one ahead of this partition's stream time (other partitions may be there already), up to the
   * longest window ahead. Month-over-month returning visitors reach a month further; those days go
   * out when stream time reaches them (markReachedDays), not on every visit before. Days ahead of
   * stream time are published without a window of their own, or held back.
   */
  markRollingDays(today: Day | null, farAhead: boolean, revision: number) {
    const ahead: SegmentKpiRecord[] = [];
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
  markReachedDays(today: Day | null, daysReached: DaySpan | null): void {
    if (daysReached !== null) {
      const segments = new Set([...this.rolling.segments(), ...this.histograms.segments()]);
      for (let end = daysReached.from; end <= daysReached.to; end++) {
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
  publishChangedWindows(today: Day | null, revision: number, changelog: ChangelogRecord[]): SegmentKpiRecord[] {
    const records: SegmentKpiRecord[] = [];
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

  /**
   * The days ahead held back, published alone (between batches, when the partition went quiet),
   * with the changelog record that they are out. Reads the rolling counters and changes nothing
   * else, so it can never count an event.
   */
  flushHeldAhead(today: Day | null, revision: number): { readonly windows: SegmentKpiRecord[]; readonly changelog: ChangelogRecord[] } {
    const windows: SegmentKpiRecord[] = [];
    // Only a flush with stream time holds days back.
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

  private kpiRecord(segment: string, day: Day, window: Readonly<OpenWindow>, revision: number): SegmentKpiRecord {
    const source = { timeZone: this.timeZone, partition: this.partition, revision };
    return kpiRecordOf(source, segment, day, window, this.rolling.at(segment, day));
  }

  /** A window's stage and dormancy snapshot, as of the end of its day. */
  snapshot(window: OpenWindow, segment: string, day: Day): void {
    window.stageCounts = this.histograms.stagesOf(segment);
    const { dormant, newlyDormant } = this.histograms.dormantAt(segment, day, this.dormantAfterDays);
    window.dormant = dormant;
    window.newlyDormant = newlyDormant;
  }
}
