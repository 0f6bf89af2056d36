/**
 * The one event id scheme of the tests: the nth event of a spec is `eventId(n)`, a valid UUID v4
 * that reads as its number (00000000-0000-4000-8000-000000000042 is the 42nd), so a failing
 * comparison names the event.
 */
export const eventId = (n: number | bigint): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
