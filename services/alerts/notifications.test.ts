import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import { applyAction, jsonBody, noSilences, notificationOf, signatureOf, slackBody, triage, verifySignature } from './notifications.ts';

const NOW = Date.parse('2026-11-25T08:00:00Z');

const record = (overrides: Partial<AlertRecord> = {}): AlertRecord => ({
  alert_id: '6f1c1a52-3c1e-5b8e-9a41-0a6f5b7c9d01',
  segment: 'فروشگاه-تهران',
  signal: 'detractor_share',
  status: 'firing',
  change: 'fired',
  revision: 1,
  value: 0.6,
  baseline: 0.12,
  threshold: 0.29,
  worse: 'up',
  window_day: '2026-11-20',
  window_days: 1,
  sample_size: 40,
  start_day: '2026-11-19',
  fired_day: '2026-11-20',
  resolved_day: null,
  peak: 0.6,
  weight: 1,
  fired_at: '2026-11-25T07:59:00.000Z',
  resolved_at: null,
  updated_at: '2026-11-25T07:59:00.000Z',
  ...overrides,
});

describe('alert notifications', () => {
  it('notifies when an alert fires or resolves, not when its value is updated', () => {
    const fired = record();
    const updated = record({ change: 'updated', revision: 2 });
    const resolved = record({ change: 'resolved', status: 'resolved', revision: 3, resolved_day: '2026-11-22' });
    expect(triage([fired, updated, resolved], noSilences(), NOW, 7).notify).toEqual([fired, resolved]);
  });

  it('pages nobody about history: a change about a day older than the horizon is recorded only', () => {
    const old = record({ window_day: '2026-10-01', start_day: '2026-09-30', fired_day: '2026-10-01' });
    const resolvedLately = record({ window_day: '2026-10-01', change: 'resolved', status: 'resolved', resolved_day: '2026-11-24' });
    expect(triage([old, resolvedLately], noSilences(), NOW, 3)).toEqual({ notify: [resolvedLately], silenced: [], stale: [old] });
  });

  it('snooze suppresses the notification of an alert, its segment|signal or its segment, until it runs out', () => {
    const silences = noSilences();
    const alert = record();
    const by = { by: 'mina', at: '2026-11-25T07:00:00Z', note: null };
    applyAction(silences, 'snooze|x', { action: 'snooze', target: alert.segment, until: '2026-11-25T09:00:00Z', ...by });
    const { notify, silenced } = triage([alert], silences, NOW, 7);
    expect(notify).toEqual([]);
    expect(silenced).toEqual([{ record: alert, snooze: alert.segment }]);
    // Past the snooze, or once it is lifted (a snooze until now), it notifies again.
    expect(triage([alert], silences, Date.parse('2026-11-25T09:00:01Z'), 7).notify).toEqual([alert]);
    applyAction(silences, 'snooze|x', { action: 'snooze', target: alert.segment, until: '2026-11-25T08:00:00Z', ...by });
    expect(triage([alert], silences, NOW, 7).notify).toEqual([alert]);
    // On the alert itself, or its segment|signal; another signal of the segment still notifies.
    applyAction(silences, 'snooze|y', {
      action: 'snooze',
      target: `${alert.segment}|detractor_share`,
      until: '2026-11-26T00:00:00Z',
      ...by,
    });
    expect(triage([alert, record({ signal: 'ces_mean' })], silences, NOW, 7).notify.map((r) => r.signal)).toEqual(['ces_mean']);
    // A tombstone lifts it.
    applyAction(silences, `snooze|${alert.segment}|detractor_share`, null);
    expect(triage([alert], silences, NOW, 7).notify).toEqual([alert]);
  });

  it('snooze silences only the telling: the record the sink writes is the same, and an ack silences nothing', () => {
    const silences = noSilences();
    applyAction(silences, 'ack|a', { action: 'ack', target: record().alert_id, by: 'mina', at: '2026-11-25T07:00:00Z', note: 'on it' });
    expect(triage([record()], silences, NOW, 7).notify).toHaveLength(1);
    expect(silences.acks.get(record().alert_id)).toEqual({ by: 'mina', at: '2026-11-25T07:00:00Z' });
  });

  it('names a notification by its changes, so a retry or a restart sends the same id', () => {
    const a = record();
    const b = record({ alert_id: '0d4e2f11-98c7-5a2b-8f00-1b2c3d4e5f60', signal: 'ces_mean' });
    expect(notificationOf(a.segment, [a, b]).id).toBe(notificationOf(a.segment, [b, a]).id);
    expect(notificationOf(a.segment, [a]).id).not.toBe(notificationOf(a.segment, [record({ revision: 2, change: 'updated' })]).id);
  });

  it('bodies: JSON with the churn score of firing signals; Slack text with one line per alert, Persian intact', () => {
    const notification = notificationOf('فروشگاه-تهران', [
      record({ weight: 2 }),
      record({ signal: 'ces_mean', status: 'resolved', change: 'resolved', resolved_day: '2026-11-22', peak: 4.5 }),
    ]);
    const json = JSON.parse(jsonBody(notification)) as Record<string, unknown>;
    expect(json).toMatchObject({ segment: 'فروشگاه-تهران', firing: 1, resolved: 1, churn_score: 2 });
    const slack = JSON.parse(slackBody(notification)) as { text: string };
    expect(slack.text.split('\n')).toEqual([
      'Churn alert — segment *فروشگاه-تهران*',
      ':red_circle: *detractor_share* 0.6 (baseline 0.12, threshold 0.29) since 2026-11-19, 40 in sample',
      ':large_green_circle: *ces_mean* resolved on 2026-11-22 (peak 4.5)',
    ]);
  });

  it('signs timestamp and body; a receiver refuses another body, another secret, or an old timestamp (a replay)', () => {
    const body = jsonBody(notificationOf('smb', [record({ segment: 'smb' })]));
    const timestamp = Math.floor(NOW / 1000);
    const signature = signatureOf('secret-0123456789abcdef', timestamp, body);
    const headers = { signature, timestamp: String(timestamp) };
    expect(verifySignature('secret-0123456789abcdef', headers, body, NOW)).toBe(true);
    expect(verifySignature('secret-0123456789abcdef', headers, `${body} `, NOW)).toBe(false);
    expect(verifySignature('another-secret-0123456789', headers, body, NOW)).toBe(false);
    expect(verifySignature('secret-0123456789abcdef', headers, body, NOW + 301_000)).toBe(false);
    expect(verifySignature('secret-0123456789abcdef', { signature: undefined, timestamp: String(timestamp) }, body, NOW)).toBe(false);
  });
});
