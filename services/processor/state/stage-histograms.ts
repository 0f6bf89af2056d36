/**
 * How many of a partition's customers are in each stage, per segment, and its converted customers
 * by the day they were last seen: the stage snapshot of a day's window and who goes dormant when
 * stream time passes a day. Kept in step with every customer's change, never recounted.
 */
import { ALL_SEGMENTS, UNASSIGNED_SEGMENT } from '../../../schemas/event-contract.ts';
import { CONVERTED_STAGES } from '../../../schemas/processor-outputs.ts';
import { addDays, dayOf, type Day } from '../rules/calendar.ts';
import type { CustomerState } from '../rules/customer.ts';
import { tally } from '../rules/tally.ts';

const segmentOf = (c: CustomerState) => c.segment?.value ?? UNASSIGNED_SEGMENT;

export class StageHistograms {
  /** Customers per (profile segment, stage). */
  private readonly stageCounts = new Map<string, Map<string, number>>();
  /** Converted customers per (segment, last-seen day). */
  private readonly convertedLastSeen = new Map<string, Map<Day, number>>();
  /** Converted customers by the day they were last seen: who goes dormant when stream time passes a day. */
  private readonly convertedByLastSeen = new Map<Day, Set<string>>();
  private readonly timeZone: string;

  constructor(timeZone: string) {
    this.timeZone = timeZone;
  }

  /** The segments some customer held here is in. */
  segments(): string[] {
    return [...this.stageCounts].filter(([, stages]) => stages.size > 0).map(([segment]) => segment);
  }

  stagesOf(segment: string): Record<string, number> {
    return Object.fromEntries(this.stageCounts.get(segment) ?? []);
  }

  /** Converted customers silent for `dormantAfterDays` by the end of `day`, and those whose silence reached it that day. */
  dormantAt(segment: string, day: Day, dormantAfterDays: number): { dormant: number; newlyDormant: number } {
    const cutoff = addDays(day, -dormantAfterDays);
    let dormant = 0;
    let newlyDormant = 0;
    for (const [lastSeenDay, n] of this.convertedLastSeen.get(segment) ?? []) {
      if (lastSeenDay <= cutoff) dormant += n;
      if (lastSeenDay === cutoff) newlyDormant += n;
    }
    return { dormant, newlyDormant };
  }

  /**
   * The converted customers whose dormancy day (last seen + `dormantAfterDays`) is in [from, to),
   * by that day and then by key; the days behind `to` are forgotten.
   */
  goneDormant(from: Day, to: Day, dormantAfterDays: number): { readonly dormantOn: Day; readonly customers: string[] }[] {
    const gone: { dormantOn: Day; customers: string[] }[] = [];
    // In day order, whatever order the index was built in (a restored partition builds it from its changelog).
    for (const lastSeenDay of [...this.convertedByLastSeen.keys()].sort()) {
      const customers = this.convertedByLastSeen.get(lastSeenDay) ?? new Set<string>();
      const dormantOn = addDays(lastSeenDay, dormantAfterDays);
      if (dormantOn < to) this.convertedByLastSeen.delete(lastSeenDay);
      if (dormantOn < from || dormantOn >= to) continue;
      gone.push({ dormantOn, customers: [...customers].sort() });
    }
    return gone;
  }

  /** Keeps the histograms in step with one customer's change (undefined: not held here before, or no more). */
  move(before: CustomerState | undefined, after: CustomerState | undefined): void {
    const lastSeen = (c: CustomerState | undefined) =>
      c !== undefined && CONVERTED_STAGES.has(c.stage.stage) ? dayOf(c.lastSeenAt, this.timeZone) : undefined;
    const [was, is] = [lastSeen(before), lastSeen(after)];
    // Most events leave a customer's stage, segment and last-seen day as they were: nothing moves.
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
