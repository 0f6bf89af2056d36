/**
 * Event-time windows: daily tumbling windows in a reporting time zone (a shop in Tehran closes its
 * day at Asia/Tehran midnight), rolling views as runs of calendar days, and lateness measured
 * against stream time — the newest event time seen — so a backfill of old events is processed
 * in order of its own clock, never judged by the wall clock. Pure.
 */
import { dayName, dayNumber, type Day } from '../../../schemas/days.ts';
import { DAY_MS } from '../../../schemas/event-contract.ts';

export { dayName, dayNumber, type Day };

const dayFormatters = new Map<string, Intl.DateTimeFormat>();
const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let f = cache.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, ...options });
    cache.set(timeZone, f);
  }
  return f;
}

/** Throws RangeError naming the zone when it is not an IANA time zone. */
export function assertTimeZone(timeZone: string): void {
  formatter(dayFormatters, timeZone, { year: 'numeric', month: '2-digit', day: '2-digit' });
}

/** Every offset and every change of offset from 2000 to 2100 falls on a quarter hour. */
const QUARTER_HOUR_MS = 900_000;

/**
 * A cache per time zone, emptied past 100,000 entries. Per zone rather than keyed by zone and day
 * together: a key concatenated per call was hashed anew each time (dayEnd is asked per event).
 */
function zoneCache<K, V>(caches: Map<string, Map<K, V>>, timeZone: string): Map<K, V> {
  let cache = caches.get(timeZone);
  if (cache === undefined) {
    cache = new Map();
    caches.set(timeZone, cache);
  }
  if (cache.size > 100_000) cache.clear();
  return cache;
}

const daysByQuarter = new Map<string, Map<number, Day>>();

/** The earlier of two times, either of which may be unknown (null). */
export const earlierTime = (a: number | null, b: number | null): number | null => (a === null || b === null ? (a ?? b) : Math.min(a, b));
/** The later of two times, either of which may be unknown (null). */
export const laterTime = (a: number | null, b: number | null): number | null => (a === null || b === null ? (a ?? b) : Math.max(a, b));

/**
 * The calendar day of an instant in the zone. Remembered per quarter hour, in which no zone's day
 * can change (Intl's formatting was a tenth of the processor's time, asked several times an event).
 */
export function dayOf(at: number, timeZone: string): Day {
  const days = zoneCache(daysByQuarter, timeZone);
  const quarter = Math.floor(at / QUARTER_HOUR_MS);
  let day = days.get(quarter);
  if (day === undefined) {
    day = formatter(dayFormatters, timeZone, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(quarter * QUARTER_HOUR_MS);
    days.set(quarter, day);
  }
  return day;
}

/** The zone's offset from UTC at an instant, in ms (Tehran: +3.5 h). */
function offsetAt(at: number, timeZone: string): number {
  const name = formatter(offsetFormatters, timeZone, { timeZoneName: 'longOffset' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName')?.value;
  const match = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(name ?? '');
  if (match?.[1] === undefined) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return (match[1] === '-' ? -minutes : minutes) * 60_000;
}

/** `day` shifted by whole calendar days (no time zone involved). */
export function addDays(day: Day, days: number): Day {
  return dayName(dayNumber(day) + days);
}

const dayStarts = new Map<string, Map<Day, number>>();

/** The instant the local day starts, in the zone. Remembered: window checks ask for it per event. */
export function dayStart(day: Day, timeZone: string): number {
  const starts = zoneCache(dayStarts, timeZone);
  const known = starts.get(day);
  if (known !== undefined) return known;
  const wallClock = dayNumber(day) * DAY_MS;
  // The offset at the guess can differ from the offset at the answer across a DST change: settle it.
  const guess = wallClock - offsetAt(wallClock, timeZone);
  const start = wallClock - offsetAt(guess, timeZone);
  starts.set(day, start);
  return start;
}

const dayEnds = new Map<string, Map<Day, number>>();

/** The instant the window of `day` closes: the zone's next midnight. */
export function dayEnd(day: Day, timeZone: string): number {
  const ends = zoneCache(dayEnds, timeZone);
  let end = ends.get(day);
  if (end === undefined) {
    end = dayStart(addDays(day, 1), timeZone);
    ends.set(day, end);
  }
  return end;
}

/** The days of a rolling view of `length` days ending with `day`, oldest first. */
export function rollingDays(day: Day, length: number): Day[] {
  return Array.from({ length }, (_, i) => addDays(day, i - length + 1));
}

export type Lateness = 'on_time' | 'late_revision' | 'too_late';

/**
 * on_time: the event's window is still open at stream time. late_revision: closed, but within
 * the allowed lateness, so the window is revised and re-emitted. too_late: past that; the event
 * goes to the late side topic and is counted, never silently dropped.
 */
export function latenessOf(at: number, streamTime: number, allowedLatenessMs: number, timeZone: string): Lateness {
  const closes = dayEnd(dayOf(at, timeZone), timeZone);
  if (streamTime < closes) return 'on_time';
  return streamTime < closes + allowedLatenessMs ? 'late_revision' : 'too_late';
}
