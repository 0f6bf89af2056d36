import { describe, expect, it } from 'vitest';
import { dayName, dayNumber } from '../../schemas/days.ts';
import { seeded } from '../generator/traffic.ts';
import { episodesOf, reconcile, type DayReading, type DetectionSettings, type Episode } from './detection.ts';

const UP: DetectionSettings = {
  worse: 'up',
  alpha: 0.2,
  guardDays: 2,
  warmupDays: 14,
  sigmas: 3,
  minChange: 0.05,
  limit: null,
  minSample: 20,
  forDays: 2,
  keepFiringDays: 2,
  cooldownDays: 3,
};
const DAY0 = dayNumber('2026-09-01');
const day = (i: number) => dayName(DAY0 + i);

/** Day i's value: a level of 0.15 with ±0.03 noise, unless `level` says otherwise for that day. */
function series(
  days: number,
  level: (i: number) => number | undefined = () => undefined,
  sample: (i: number) => number = () => 100,
  seed = 1,
): DayReading[] {
  const random = seeded(seed);
  return Array.from({ length: days }, (_, i) => ({ day: day(i), value: (level(i) ?? 0.15) + (random() - 0.5) * 0.06, sample: sample(i) }));
}

const summary = (episodes: readonly Episode[]) =>
  episodes.map((e) => ({ start: e.startDay, fired: e.firedDay, status: e.status, resolved: e.resolvedDay }));

describe('episodesOf', () => {
  it('never alerts on a steady segment, whatever its day-to-day noise', () => {
    for (const seed of [1, 2, 3, 4, 5]) expect(episodesOf(series(120, undefined, undefined, seed), UP)).toEqual([]);
  });

  it('fires once on a jump, on the second breaching day, and resolves once after two calm days', () => {
    const jump = series(60, (i) => (i >= 40 && i < 47 ? 0.35 : undefined));
    expect(summary(episodesOf(jump, UP))).toEqual([{ start: day(40), fired: day(41), status: 'resolved', resolved: day(48) }]);
    const stillHigh = series(45, (i) => (i >= 40 ? 0.35 : undefined));
    const [episode] = episodesOf(stillHigh, UP);
    expect(summary([episode as Episode])).toEqual([{ start: day(40), fired: day(41), status: 'firing', resolved: null }]);
    expect(episode?.baseline).toBeCloseTo(0.15, 1);
    expect(episode?.value).toBeGreaterThan(episode?.threshold ?? Number.POSITIVE_INFINITY);
  });

  it('catches a slow drift that never jumps', () => {
    const drift = series(75, (i) => (i >= 40 ? 0.15 + (i - 39) * 0.01 : undefined));
    expect(summary(episodesOf(drift, UP))).toEqual([expect.objectContaining({ status: 'firing' })]);
  });

  it('fires once for a signal flapping around its threshold', () => {
    const pattern = [0.35, 0.35, 0.15, 0.35, 0.15, 0.35, 0.15, 0.35, 0.35];
    const flapping = series(60, (i) => pattern[i - 40]);
    expect(episodesOf(flapping, UP)).toHaveLength(1);
  });

  it('does not go pending again during the cooldown after resolving', () => {
    // Resolved on day 44 (two calm days); a breach on days 45–46 falls in the 3-day cooldown.
    const levels = new Map([
      [40, 0.35],
      [41, 0.35],
      [45, 0.35],
      [46, 0.35],
    ]);
    expect(
      summary(
        episodesOf(
          series(60, (i) => levels.get(i)),
          UP,
        ),
      ),
    ).toEqual([{ start: day(40), fired: day(41), status: 'resolved', resolved: day(43) }]);
  });

  it('judges no day on a small sample, and none before the baseline has warmed up', () => {
    const fewAnswers = series(
      60,
      (i) => (i >= 40 ? 0.9 : undefined),
      (i) => (i >= 40 ? 3 : 100),
    );
    expect(episodesOf(fewAnswers, UP)).toEqual([]);
    const tooEarly = series(30, (i) => (i >= 5 && i < 9 ? 0.9 : undefined));
    expect(episodesOf(tooEarly, UP)).toEqual([]);
  });

  it('alerts on a signal whose worse direction is down (CSAT falling)', () => {
    const csat = series(60, (i) => (i >= 40 ? 3.4 : 4.3));
    const down = { ...UP, worse: 'down' as const, minChange: 0.3 };
    expect(summary(episodesOf(csat, down))).toEqual([{ start: day(40), fired: day(41), status: 'firing', resolved: null }]);
  });
});

describe('reconcile', () => {
  const jump = series(47, (i) => (i >= 40 ? 0.35 : undefined));
  const idOf = (e: Episode) => `smb|detractor_share|${e.startDay}`;
  const first = reconcile([], episodesOf(jump, UP), idOf, day(46));

  it('publishes a new episode once, and nothing when the same series is evaluated again (a restart)', () => {
    expect(first.changed.map((a) => [a.id, a.status])).toEqual([[`smb|detractor_share|${day(40)}`, 'firing']]);
    expect(reconcile(first.alerts, episodesOf(jump, UP), idOf, day(46)).changed).toEqual([]);
  });

  it('updates the same alert when a late revision moves its first day, never a second one', () => {
    const revised = jump.map((r, i) => (i === 39 ? { ...r, value: 0.4 } : r));
    const again = reconcile(first.alerts, episodesOf(revised, UP), idOf, day(46));
    expect(again.alerts.map((a) => [a.id, a.status, a.startDay])).toEqual([[`smb|detractor_share|${day(40)}`, 'firing', day(39)]]);
    expect(again.changed).toHaveLength(1);
  });

  it('resolves the alert when a revision takes its breach away', () => {
    const calmed = jump.map((r, i) => (i >= 40 ? { ...r, value: 0.15 } : r));
    const again = reconcile(first.alerts, episodesOf(calmed, UP), idOf, day(46));
    expect(again.changed.map((a) => [a.id, a.status, a.resolvedDay])).toEqual([[`smb|detractor_share|${day(40)}`, 'resolved', day(46)]]);
  });
});
