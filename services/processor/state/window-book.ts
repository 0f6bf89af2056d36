/**
 * A partition's open daily KPI windows (a segment on a day) and what changed in them since the
 * last flush: the windows an event counted in, those closed for good. A window's counts are copied
 * once per flush before they change in place, so counts handed out before never change.
 */
import { parseWindowKey } from '../rules/window-counts.ts';
import { addDeltaInto, EMPTY_WINDOW, ownCopyOf, windowCountsFromJson, windowCountsToJson } from '../rules/window-counts.ts';
import type { WindowCounts, WindowDelta } from '../rules/window-counts.ts';
import type { Day } from '../rules/calendar.ts';

export interface OpenWindow {
  counts: WindowCounts;
  stageCounts: Record<string, number>;
  dormant: number;
  /** Of those, the ones that went dormant on the window's day. */
  newlyDormant: number;
  /** Whether this partition's stream time had reached the day when the window was last published. */
  reached: boolean;
}

/** A window as it opens, and a day ahead of stream time as published: nothing counted, no stage snapshot taken. */
export const NOTHING_COUNTED: Readonly<OpenWindow> = { counts: EMPTY_WINDOW, stageCounts: {}, dormant: 0, newlyDormant: 0, reached: false };

export class WindowBook {
  private readonly windows = new Map<string, OpenWindow>();
  /** Windows to publish at the next flush. */
  readonly changed = new Set<string>();
  /** Windows whose counts are this book's own since the last flush: changed in place. */
  private readonly copiedSinceFlush = new Set<string>();
  /** Windows closed for good since the last flush: their changelog records are tombstoned. */
  readonly closed = new Set<string>();

  has(windowKey: string): boolean {
    return this.windows.has(windowKey);
  }

  get(windowKey: string): OpenWindow | undefined {
    return this.windows.get(windowKey);
  }

  /** The window, opened with nothing counted if it was not. */
  open(windowKey: string): OpenWindow {
    const existing = this.windows.get(windowKey);
    if (existing !== undefined) return existing;
    const window: OpenWindow = { ...NOTHING_COUNTED, stageCounts: {} };
    this.windows.set(windowKey, window);
    return window;
  }

  entries(): IterableIterator<[string, OpenWindow]> {
    return this.windows.entries();
  }

  /** Adds an event's (or a merge's) deltas to the windows of the days still open. */
  count(deltas: ReadonlyMap<string, WindowDelta>, isOpen: (day: Day) => boolean): void {
    for (const [windowKey, delta] of deltas) {
      // Closed for good (even if not evicted until the next flush): too-late contributions do not count.
      if (!isOpen(parseWindowKey(windowKey).day)) continue;
      const window = this.open(windowKey);
      if (!this.copiedSinceFlush.has(windowKey)) {
        window.counts = ownCopyOf(window.counts);
        this.copiedSinceFlush.add(windowKey);
      }
      addDeltaInto(window.counts, delta);
      this.changed.add(windowKey);
    }
  }

  /** Drops the windows of days no longer open, remembering them as closed. */
  closeWhere(isOpen: (day: Day) => boolean): void {
    for (const windowKey of this.windows.keys()) {
      if (!isOpen(parseWindowKey(windowKey).day)) {
        this.windows.delete(windowKey);
        this.closed.add(windowKey);
      }
    }
  }

  /** The changelog value of a window. */
  static toJson(window: OpenWindow): string {
    return JSON.stringify({ ...window, counts: windowCountsToJson(window.counts) });
  }

  /** A window's changelog record read back (null: closed). */
  restore(windowKey: string, value: string | null): void {
    if (value === null) {
      this.windows.delete(windowKey);
      return;
    }
    // newlyDormant: absent from windows written before it existed. revision: a counter windows
    // written before flushes took the input position kept; not needed now.
    const { revision: _counter, ...parsed } = JSON.parse(value) as Omit<OpenWindow, 'counts' | 'newlyDormant'> & {
      counts: Record<string, unknown>;
      newlyDormant?: number;
      revision?: number;
    };
    this.windows.set(windowKey, { ...parsed, newlyDormant: parsed.newlyDormant ?? 0, counts: windowCountsFromJson(parsed.counts) });
  }

  clearChanges(): void {
    this.changed.clear();
    this.copiedSinceFlush.clear();
    this.closed.clear();
  }
}
