/**
 * Churn alert detection for one signal of one segment, pure: the episodes (alerts) are a function
 * of the daily series, so a late revision of a day is handled by evaluating the series again, and a
 * restart that evaluates the same series finds the same episodes.
 *
 * Each day is judged against the segment's own baseline: an exponentially weighted mean and spread
 * of earlier days, leaving out the `guardDays` just before the judged one (so a slow rise does not
 * absorb itself, as in public-health EWMA surveillance) and every day that breached. A day breaches
 * when it is beyond the baseline by `sigmas` spreads and by at least `minChange`, and past the
 * absolute `limit`. Days whose sample is below `minSample` are neither judged nor learnt from.
 *
 * States, as operators know them from Grafana: normal → pending (breached, waiting for `forDays`
 * breaches in a row) → firing → resolved after `keepFiringDays` calm days in a row (a flapping
 * signal fires once); then `cooldownDays` during which it cannot go pending again.
 */
import { dayNumber, type Day } from '../../schemas/days.ts';
import type { Worse } from './signals.ts';

export interface DetectionSettings {
  readonly worse: Worse;
  /** Weight of the newest day in the baseline (0–1): 0.2 ≈ the last week or so counts most. */
  readonly alpha: number;
  /** Days just before the judged one that its baseline leaves out. */
  readonly guardDays: number;
  /** Baseline days needed before any day is judged. */
  readonly warmupDays: number;
  readonly sigmas: number;
  /** The least distance from the baseline that counts as a breach, in the signal's unit. */
  readonly minChange: number;
  /** worse up: a breach is at least this; worse down: at most this. */
  readonly limit: number | null;
  readonly minSample: number;
  readonly forDays: number;
  readonly keepFiringDays: number;
  readonly cooldownDays: number;
}

export interface DayReading {
  readonly day: Day;
  readonly value: number | null;
  readonly sample: number;
}

export interface Episode {
  /** The first breaching day of the run that fired. */
  readonly startDay: Day;
  readonly firedDay: Day;
  readonly resolvedDay: Day | null;
  readonly status: 'firing' | 'resolved';
  /** The latest breaching day's value, baseline and threshold, and its sample. */
  readonly value: number;
  readonly baseline: number;
  readonly threshold: number;
  readonly sample: number;
  /** The worst value of the episode. */
  readonly peak: number;
  readonly lastBreachDay: Day;
}

interface Baseline {
  mean: number;
  variance: number;
  days: number;
}

function learn(baseline: Baseline, value: number, alpha: number): void {
  if (baseline.days === 0) {
    baseline.mean = value;
    baseline.variance = 0;
  } else {
    const diff = value - baseline.mean;
    baseline.mean += alpha * diff;
    baseline.variance = (1 - alpha) * (baseline.variance + alpha * diff * diff);
  }
  baseline.days++;
}

/** The threshold a day is judged against, or undefined while the baseline is still warming up. */
function thresholdOf(baseline: Baseline, settings: DetectionSettings): number | undefined {
  if (baseline.days < settings.warmupDays) return undefined;
  const distance = Math.max(settings.sigmas * Math.sqrt(baseline.variance), settings.minChange);
  return settings.worse === 'up' ? baseline.mean + distance : baseline.mean - distance;
}

function breaches(value: number, threshold: number, settings: DetectionSettings): boolean {
  if (settings.worse === 'up') return value > threshold && (settings.limit === null || value >= settings.limit);
  return value < threshold && (settings.limit === null || value <= settings.limit);
}

type Phase =
  | { readonly kind: 'normal'; readonly coolUntil: number }
  | { readonly kind: 'pending'; readonly start: Day; readonly streak: number }
  | { readonly kind: 'firing'; readonly episode: Episode; readonly calm: number };

/** Every episode in a series of daily readings (ascending by day; missing days are not judged). */
export function episodesOf(series: readonly DayReading[], settings: DetectionSettings): Episode[] {
  const episodes: Episode[] = [];
  const baseline: Baseline = { mean: 0, variance: 0, days: 0 };
  // Non-breaching days wait here until they are `guardDays` older than the day being judged.
  const waiting: { day: number; value: number }[] = [];
  let phase: Phase = { kind: 'normal', coolUntil: Number.NEGATIVE_INFINITY };

  for (const reading of series) {
    const today = dayNumber(reading.day);
    while (waiting[0] !== undefined && waiting[0].day < today - settings.guardDays)
      learn(baseline, (waiting.shift() as { value: number }).value, settings.alpha);
    if (reading.value === null || reading.sample < settings.minSample) continue;
    const threshold = thresholdOf(baseline, settings);
    const breached = threshold !== undefined && breaches(reading.value, threshold, settings);
    if (!breached) waiting.push({ day: today, value: reading.value });

    const latest = (episode: Episode | undefined, start: Day): Episode => {
      const worse =
        episode === undefined
          ? reading.value
          : settings.worse === 'up'
            ? Math.max(episode.peak, reading.value as number)
            : Math.min(episode.peak, reading.value as number);
      return {
        startDay: start,
        firedDay: episode?.firedDay ?? reading.day,
        resolvedDay: null,
        status: 'firing',
        value: reading.value as number,
        baseline: baseline.mean,
        threshold: threshold as number,
        sample: reading.sample,
        peak: worse as number,
        lastBreachDay: reading.day,
      };
    };

    switch (phase.kind) {
      case 'normal':
        if (!breached || today <= phase.coolUntil) break;
        phase =
          settings.forDays <= 1
            ? { kind: 'firing', episode: latest(undefined, reading.day), calm: 0 }
            : { kind: 'pending', start: reading.day, streak: 1 };
        break;
      case 'pending':
        if (!breached) phase = { kind: 'normal', coolUntil: Number.NEGATIVE_INFINITY };
        else if (phase.streak + 1 >= settings.forDays) phase = { kind: 'firing', episode: latest(undefined, phase.start), calm: 0 };
        else phase = { kind: 'pending', start: phase.start, streak: phase.streak + 1 };
        break;
      case 'firing':
        if (breached) phase = { kind: 'firing', episode: latest(phase.episode, phase.episode.startDay), calm: 0 };
        else if (phase.calm + 1 >= settings.keepFiringDays) {
          episodes.push({ ...phase.episode, status: 'resolved', resolvedDay: reading.day });
          phase = { kind: 'normal', coolUntil: today + settings.cooldownDays };
        } else phase = { kind: 'firing', episode: phase.episode, calm: phase.calm + 1 };
        break;
    }
  }
  if (phase.kind === 'firing') episodes.push(phase.episode);
  return episodes;
}

/** An episode as published: with the identity it keeps across re-evaluations. */
export interface Alert extends Episode {
  readonly id: string;
}

const overlaps = (a: Episode, b: Episode) =>
  dayNumber(a.startDay) <= dayNumber(b.resolvedDay ?? b.lastBreachDay) &&
  dayNumber(b.startDay) <= dayNumber(a.resolvedDay ?? a.lastBreachDay);

const sameOutside = (a: Alert, b: Alert) =>
  a.status === b.status &&
  a.value === b.value &&
  a.resolvedDay === b.resolvedDay &&
  a.startDay === b.startDay &&
  a.threshold === b.threshold;

/**
 * Matches the episodes of a re-evaluation with the alerts published before: an episode that overlaps
 * an earlier alert is that alert (its id kept, even when a revision moved its first day), so a late
 * revision updates an alert and never publishes it twice; an earlier alert no episode matches any
 * more is resolved on `asOf`. Returns the alerts now, and those that changed (to publish).
 */
export function reconcile(
  published: readonly Alert[],
  episodes: readonly Episode[],
  newId: (episode: Episode) => string,
  asOf: Day,
): { readonly alerts: Alert[]; readonly changed: Alert[] } {
  const unmatched = new Set(published);
  const alerts: Alert[] = episodes.map((episode) => {
    const earlier = [...unmatched].find((alert) => overlaps(alert, episode));
    if (earlier !== undefined) unmatched.delete(earlier);
    return { ...episode, id: earlier?.id ?? newId(episode) };
  });
  for (const gone of unmatched) {
    alerts.push(gone.status === 'resolved' ? gone : { ...gone, status: 'resolved', resolvedDay: asOf });
  }
  const before = new Map(published.map((alert) => [alert.id, alert]));
  const changed = alerts.filter((alert) => {
    const earlier = before.get(alert.id);
    return earlier === undefined || !sameOutside(earlier, alert);
  });
  return { alerts, changed };
}
