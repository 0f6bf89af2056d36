/**
 * What people are told about alerts, pure: which alert changes notify, which a snooze silences,
 * how one segment's changes become one notification, its bodies (JSON or Slack) and signature.
 * services/alerts/notifier.ts delivers them.
 *
 * - A change notifies when an alert fires or resolves; an update (a new value, a late revision)
 *   is recorded, not notified; so is a change about a day older than ALERT_NOTIFY_WITHIN_DAYS
 *   (history being backfilled: nobody is paged about last month).
 * - A snooze (`journey alerts snooze`) names an alert id, a segment, or `segment|signal`, until a
 *   time; a snoozed alert does not notify, but is recorded like any other.
 * - Signature (replay-safe): `X-Journeyline-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 *   with the Unix seconds of `X-Journeyline-Timestamp`; a receiver recomputes it and refuses a
 *   timestamp older than a few minutes. `X-Journeyline-Delivery` is the same on every retry.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { alertKey, type AlertActionRecord, type AlertRecord } from '../../schemas/alert-records.ts';

export const WEBHOOK_HEADERS = {
  signature: 'x-journeyline-signature',
  timestamp: 'x-journeyline-timestamp',
  delivery: 'x-journeyline-delivery',
} as const;

/** Acks and snoozes as they stand: the latest action per (kind, target). */
export interface Silences {
  /** Target → until (ms since the epoch). */
  readonly snoozes: Map<string, number>;
  /** Alert id → who acknowledged it, and when. */
  readonly acks: Map<string, { readonly by: string; readonly at: string }>;
}

export const noSilences = (): Silences => ({ snoozes: new Map(), acks: new Map() });

/** An action from the alert-actions topic; null (a tombstone) for `key` lifts what it held. */
export function applyAction(silences: Silences, key: string, action: AlertActionRecord | null): void {
  if (action === null) {
    const [kind, ...rest] = key.split('|');
    const target = rest.join('|');
    if (kind === 'snooze') silences.snoozes.delete(target);
    else silences.acks.delete(target);
    return;
  }
  if (action.action === 'snooze') silences.snoozes.set(action.target, Date.parse(action.until));
  else silences.acks.set(action.target, { by: action.by, at: action.at });
}

export const notifies = (record: AlertRecord): boolean => record.change === 'fired' || record.change === 'resolved';

/** The snooze that silences this alert now, if any: on the alert, its segment and signal, or its segment. */
export function snoozeOf(record: AlertRecord, silences: Silences, nowMs: number): string | undefined {
  for (const target of [record.alert_id, alertKey(record.segment, record.signal), record.segment]) {
    const until = silences.snoozes.get(target);
    if (until !== undefined && until > nowMs) return target;
  }
  return undefined;
}

/** What to notify of a batch of alert records: the rest is recorded only (and says why). */
export interface Triaged {
  readonly notify: AlertRecord[];
  readonly silenced: { readonly record: AlertRecord; readonly snooze: string }[];
  /** About days older than the notify horizon: a backfill or a replay of history, recorded only. */
  readonly stale: AlertRecord[];
}

/** The newest day a change is about: the day it resolved, else its latest breaching day. */
const dayOfChange = (record: AlertRecord): string => record.resolved_day ?? record.window_day;

/**
 * What to notify of a batch of alert records: fired or resolved, about a day within `withinDays`
 * of now (older: history being backfilled or replayed, which pages nobody), and not snoozed.
 */
export function triage(records: readonly AlertRecord[], silences: Silences, nowMs: number, withinDays: number): Triaged {
  const oldest = new Date(nowMs - withinDays * 86_400_000).toISOString().slice(0, 10);
  const triaged: Triaged = { notify: [], silenced: [], stale: [] };
  for (const record of records) {
    if (!notifies(record)) continue;
    if (dayOfChange(record) < oldest) {
      triaged.stale.push(record);
      continue;
    }
    const snooze = snoozeOf(record, silences, nowMs);
    if (snooze === undefined) triaged.notify.push(record);
    else triaged.silenced.push({ record, snooze });
  }
  return triaged;
}

/** One segment's alert changes, told at once. */
export interface Notification {
  /** The same for the same changes: a receiver that sees it twice (a retry, a restart) drops the second. */
  readonly id: string;
  readonly segment: string;
  readonly alerts: readonly AlertRecord[];
}

export function notificationOf(segment: string, alerts: readonly AlertRecord[]): Notification {
  const changes = alerts.map((a) => `${a.alert_id}:${String(a.revision)}`).sort();
  const id = createHash('sha256').update(changes.join(',')).digest('hex').slice(0, 32);
  return { id, segment, alerts };
}

/** The JSON body: the segment, its churn score (weights of its firing signals), every change. */
export function jsonBody(notification: Notification): string {
  const firing = notification.alerts.filter((a) => a.status === 'firing');
  return JSON.stringify({
    id: notification.id,
    segment: notification.segment,
    firing: firing.length,
    resolved: notification.alerts.length - firing.length,
    churn_score: firing.reduce((score, a) => score + a.weight, 0),
    alerts: notification.alerts,
  });
}

const shown = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Number(n.toPrecision(3)).toString());

/** Slack's incoming-webhook body: one line per alert. */
export function slackBody(notification: Notification): string {
  const lines = notification.alerts.map((a) =>
    a.status === 'firing'
      ? `:red_circle: *${a.signal}* ${shown(a.value)} (baseline ${shown(a.baseline)}, threshold ${shown(a.threshold)}) since ${a.start_day}, ${String(a.sample_size)} in sample`
      : `:large_green_circle: *${a.signal}* resolved on ${a.resolved_day ?? a.window_day} (peak ${shown(a.peak)})`,
  );
  return JSON.stringify({ text: `Churn alert — segment *${notification.segment}*\n${lines.join('\n')}` });
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret)
    .update(`${String(timestamp)}.${body}`)
    .digest('hex')}`;
}

/** A receiver's check: the signature matches and the timestamp is within `toleranceS` of now. */
export function verifySignature(
  secret: string,
  headers: { readonly signature: string | undefined; readonly timestamp: string | undefined },
  body: string,
  nowMs: number,
  toleranceS = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowMs / 1000 - timestamp) > toleranceS || headers.signature === undefined) return false;
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const presented = Buffer.from(headers.signature);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
