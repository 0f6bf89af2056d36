/**
 * The event_ids one customer has had, bounded: a customer with 100,000 events keeps at most
 * `maxIds` of them, so memory, the changelog record and the cost of one event do not grow with
 * the customer's history.
 *
 * Ids are kept for the customer's newest events by event time: those within `windowMs` of the
 * newest one, and at most `maxIds`. Forgetting an id moves the horizon up to that id's event
 * time. An event at or before the horizon can no longer be told apart from a replay, so it is
 * not counted at all ('beyond_horizon'): the processor sets it aside on the late-events topic,
 * where it is kept, not lost. Within the horizon every replay is recognised, so nothing is
 * counted twice.
 *
 * Deterministic in the order of events, so a partition restored from its changelog and fed the
 * same events decides exactly as before.
 */

import { laterTime } from '../rules/calendar.ts';

export interface DedupLimits {
  /** Ids are remembered for events this close (event time) to the customer's newest event... */
  readonly windowMs: number;
  /** ...and at most this many, the newest by event time. */
  readonly maxIds: number;
}

export type Sighting = 'new' | 'duplicate' | 'beyond_horizon';

/** The changelog form: ids with their event times, and the horizon. */
export interface RecentEventIdsJson {
  readonly horizon: number | null;
  readonly ids: readonly (readonly [string, number])[];
}

/** Newest event time first; ties by event_id, so every replica forgets the same ids. */
const newestFirst = ([idA, atA]: readonly [string, number], [idB, atB]: readonly [string, number]) =>
  atB - atA || (idA < idB ? -1 : idA > idB ? 1 : 0);

export class RecentEventIds {
  /** Events at or before this event time can no longer be recognised; null while nothing was forgotten. */
  private horizon: number | null;
  /** event_id → event time. */
  private readonly ids: Map<string, number>;

  private constructor(horizon: number | null, ids: Map<string, number>) {
    this.horizon = horizon;
    this.ids = ids;
  }

  static empty(): RecentEventIds {
    return new RecentEventIds(null, new Map());
  }

  static fromJSON(json: RecentEventIdsJson): RecentEventIds {
    return new RecentEventIds(json.horizon, new Map(json.ids));
  }

  /**
   * The ids of two identities as one person's (identity stitching): the later horizon (an event
   * either side could no longer recognise stays unrecognisable), the ids above it, and the limits.
   */
  static union(a: RecentEventIds, b: RecentEventIds, limits: DedupLimits): RecentEventIds {
    const horizon = laterTime(a.horizon, b.horizon);
    const ids = new Map<string, number>();
    for (const [eventId, at] of [...a.ids, ...b.ids]) if (horizon === null || at > horizon) ids.set(eventId, at);
    const union = new RecentEventIds(horizon, ids);
    union.forget([...ids].sort(newestFirst).slice(limits.maxIds));
    return union;
  }

  get size(): number {
    return this.ids.size;
  }

  sighting(eventId: string, at: number): Sighting {
    if (this.ids.has(eventId)) return 'duplicate';
    if (this.horizon !== null && at <= this.horizon) return 'beyond_horizon';
    return 'new';
  }

  /**
   * Remembers a new event. Past the count limit the oldest are forgotten in one go, down to the
   * limit, once a quarter more have gathered: sorting is then paid once per many events.
   */
  remember(eventId: string, at: number, limits: DedupLimits): void {
    this.ids.set(eventId, at);
    if (this.ids.size > limits.maxIds + Math.ceil(limits.maxIds / 4)) {
      this.forget([...this.ids].sort(newestFirst).slice(limits.maxIds));
    }
  }

  /** Forgets ids of events older than the window before the newest one. */
  forgetOutsideWindow(newestAt: number, limits: DedupLimits): void {
    const cutoff = newestAt - limits.windowMs;
    this.forget([...this.ids].filter(([, at]) => at < cutoff));
  }

  toJSON(): RecentEventIdsJson {
    return { horizon: this.horizon, ids: [...this.ids] };
  }

  private forget(entries: readonly (readonly [string, number])[]): void {
    for (const [eventId, at] of entries) {
      this.ids.delete(eventId);
      if (this.horizon === null || at > this.horizon) this.horizon = at;
    }
  }
}
