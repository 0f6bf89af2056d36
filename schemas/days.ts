/**
 * Calendar days as the contracts carry them (YYYY-MM-DD: KPI windows, alerts) and as whole numbers
 * for arithmetic. No time zone here: which day an instant falls on is the reporting zone's business
 * (services/processor/rules/calendar.ts).
 */
import { DAY_MS } from './event-contract.ts';

/** A calendar day, YYYY-MM-DD. */
export type Day = string;

const numbers = new Map<Day, number>();

/** A calendar day as a whole number (days since 1970-01-01), for arithmetic in hot paths; remembered like dayName. */
export function dayNumber(day: Day): number {
  let n = numbers.get(day);
  if (n === undefined) {
    n = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;
    if (numbers.size > 100_000) numbers.clear();
    numbers.set(day, n);
  }
  return n;
}

const names = new Map<number, Day>();

/** The calendar day of a day number; remembered, as the same few days come back all the time. */
export function dayName(n: number): Day {
  let name = names.get(n);
  if (name === undefined) {
    name = new Date(n * DAY_MS).toISOString().slice(0, 10);
    if (names.size > 100_000) names.clear();
    names.set(n, name);
  }
  return name;
}
