/**
 * `journey alerts`: the firing and recent churn alerts (from ClickHouse), and what people do about
 * them (to the alert-actions topic, which the notifier and the sink read).
 *
 *   journey alerts [--segment S] [--since 7d|24h|2026-11-01] [--format F]
 *   journey alerts ack <alert-id> [--note TEXT] [--by NAME]
 *   journey alerts snooze <alert-id | segment | segment|signal> --for 4h|2d|30m [--note TEXT] [--by NAME]
 *   journey alerts unsnooze <target>
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../common/config.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../common/kafka.ts';
import { registerTopicEncoders } from '../common/record-codec.ts';
import { createRegistry } from '../common/registry.ts';
import { alertActionKey, alertActionRecord, type AlertActionRecord } from '../../schemas/alert-records.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { readOnlyQuery } from '../dashboard/read-only-client.ts';
import { UsageError } from './usage-error.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `7d`, `24h`, `30m` → milliseconds; undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d{1,5})([mhd])$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** `--since`: a duration back from now, or a date or time. */
function sinceOf(text: string, nowMs: number): Date {
  const back = durationMs(text);
  if (back !== undefined) return new Date(nowMs - back);
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`--since ${text}: give a duration (7d, 24h, 30m) or a date (2026-11-01)`);
  return new Date(at);
}

// The latest revision of each alert, with its ack and the longest snooze that covers it (on the
// alert, its segment|signal or its segment). Values arrive as query parameters.
const LIST_QUERY = `
WITH
    toDateTime64(0, 3, 'UTC') AS epoch,
    acks AS (SELECT target, argMax(by, at) AS by FROM journey.alert_actions WHERE action = 'ack' GROUP BY target),
    snoozes AS (SELECT target, argMax(until, at) AS until FROM journey.alert_actions WHERE action = 'snooze' GROUP BY target)
SELECT
    a.alert_id AS alert_id,
    a.segment AS segment,
    a.signal AS signal,
    a.status AS status,
    round(a.value, 4) AS value,
    round(a.baseline, 4) AS baseline,
    round(a.threshold, 4) AS threshold,
    a.window_day AS day,
    JSONExtractString(a.details, 'start_day') AS since,
    a.fired_at AS fired_at,
    a.resolved_at AS resolved_at,
    acks.by AS acked_by,
    nullIf(greatest(ifNull(s1.until, epoch), ifNull(s2.until, epoch), ifNull(s3.until, epoch)), epoch) AS snoozed_until
FROM journey.alerts_latest AS a
LEFT JOIN acks ON acks.target = toString(a.alert_id)
LEFT JOIN snoozes AS s1 ON s1.target = toString(a.alert_id)
LEFT JOIN snoozes AS s2 ON s2.target = concat(a.segment, '|', a.signal)
LEFT JOIN snoozes AS s3 ON s3.target = a.segment
WHERE (a.status = 'firing' OR a.updated_at >= {since:DateTime64(3, 'UTC')})
  AND ({segment:String} = '' OR a.segment = {segment:String})
ORDER BY a.status = 'firing' DESC, a.updated_at DESC`;

async function list(args: readonly string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      segment: { type: 'string', default: '' },
      since: { type: 'string', default: '7d' },
      format: { type: 'string', default: 'PrettyCompactMonoBlock' },
    },
  });
  const since = sinceOf(values.since, Date.now());
  const answer = await readOnlyQuery(config, LIST_QUERY, {
    format: values.format,
    params: { segment: values.segment, since: since.toISOString().replace('T', ' ').replace('Z', '') },
  });
  if (!answer.ok) {
    console.error(answer.text.trimEnd());
    return 1;
  }
  process.stdout.write(answer.text === '' ? `no firing alerts, none changed since ${since.toISOString()}\n` : answer.text);
  return 0;
}

/** Sends one action; the topic is compacted, so the latest per (kind, target) is what holds. */
async function record(config: Config, action: AlertActionRecord): Promise<void> {
  const checked = alertActionRecord.parse(action);
  const kafka = createKafka(config.kafka, undefined);
  const topics = topicsFor(config.topicPrefix);
  await ensureTopics(kafka, config.kafka, [topics.alertActions]);
  const { alertActions: encode } = await registerTopicEncoders(createRegistry(config.registry), topics, ['alertActions']);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic: topics.alertActions.name,
      acks: -1,
      messages: [{ key: alertActionKey(checked), value: encode(checked) }],
    });
  } finally {
    await producer.disconnect();
  }
}

const ACTION_OPTIONS = { note: { type: 'string' }, by: { type: 'string' }, for: { type: 'string' } } as const;

export async function alertsCommand(args: readonly string[], config: Config): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb.startsWith('--')) return list(args, config);
  if (verb === 'list') return list(rest, config);
  if (verb !== 'ack' && verb !== 'snooze' && verb !== 'unsnooze') throw new UsageError(`unknown alerts command ${verb}`);
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: ACTION_OPTIONS });
  const target = positionals.join(' ').trim();
  if (target === '')
    throw new UsageError(`alerts ${verb} needs a target: an alert id${verb === 'ack' ? '' : ', a segment, or segment|signal'}`);
  const by = values.by ?? userInfo().username;
  const note = values.note ?? null;
  const now = Date.now();
  const at = new Date(now).toISOString();
  if (verb === 'ack') {
    if (!alertActionRecord.options[0].shape.target.safeParse(target).success)
      throw new UsageError(`alerts ack needs an alert id (a UUID, see journey alerts), not ${target}`);
    await record(config, { action: 'ack', target, by, at, note });
    console.log(`acknowledged ${target}`);
    return 0;
  }
  let until = new Date(now);
  if (verb === 'snooze') {
    const span = values.for === undefined ? undefined : durationMs(values.for);
    if (span === undefined) throw new UsageError('alerts snooze needs --for, e.g. --for 4h, --for 2d, --for 30m');
    until = new Date(now + span);
  }
  await record(config, { action: 'snooze', target, until: until.toISOString(), by, at, note });
  console.log(
    verb === 'snooze'
      ? `${target}: no notifications until ${until.toISOString()} (alerts are still recorded)`
      : `${target}: notifications on again`,
  );
  return 0;
}
