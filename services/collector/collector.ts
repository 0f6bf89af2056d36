/**
 * HTTP edge over the producer library.
 *   POST /v1/events  one event or an array; Authorization: Bearer <key>
 *   GET  /healthz    the process is up
 *   GET  /readyz     Kafka and the schema registry answer: each named up, slow or down
 *
 * Answers: 202 with per-event results when at least one event was accepted; 422 with the same
 * body when none was; 400 for a body that is not JSON or not events; 401 bad key; 413 too large
 * or too many events; 415 not JSON content; 503 when Kafka refused the batch or did not
 * acknowledge it in time (nothing counts as accepted; retrying is safe because event_ids are
 * idempotency keys).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../common/config.ts';
import { BodyTooLarge, closeServer, createLimitedServer, listen, presentedSecret, readBody, secretMatcher } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { DeadlineExceeded, withinDeadline } from '../common/poll.ts';
import { readinessReply, type ReadinessReport } from '../common/readiness.ts';
import { ProduceError, type SendOutcome } from '../producer/event-producer.ts';

export interface EventSink {
  send(inputs: readonly unknown[]): Promise<SendOutcome>;
}

export interface CollectorDeps {
  readonly settings: Config['collector'];
  readonly sink: EventSink;
  readonly logger: Logger;
  /** Whether downstream (Kafka, the registry, the services of this process) answers, each named. */
  readonly ready: () => Promise<ReadinessReport>;
}

export interface Reply {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

const fail = (status: number, error: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { error },
  ...(headers && { headers }),
});

/**
 * What can be decided from the headers alone, before a byte of the body is read: a client
 * without a key, or sending something other than JSON, costs us no more than its headers.
 */
export function admitEvents(request: { contentType: string | undefined; keyMatches: boolean }): Reply | undefined {
  if (!request.keyMatches)
    return fail(401, 'missing or unknown API key: send Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
  if (!/^application\/(.+\+)?json\b/i.test(request.contentType ?? '')) return fail(415, 'Content-Type must be application/json');
  return undefined;
}

/** POST /v1/events once admitted and its body read. */
export async function handleEvents(body: Buffer, deps: { settings: Config['collector']; sink: EventSink }): Promise<Reply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error: unknown) {
    return fail(400, `body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const single = !Array.isArray(parsed);
  if (single && (typeof parsed !== 'object' || parsed === null)) {
    return fail(400, 'body must be one event object or a JSON array of events');
  }
  const inputs: readonly unknown[] = single ? [parsed] : (parsed as unknown[]);
  if (inputs.length === 0) return fail(400, 'the array of events is empty');
  if (inputs.length > deps.settings.maxEvents) {
    return fail(413, `${inputs.length} events in one request; at most ${deps.settings.maxEvents} are allowed`);
  }
  let outcome: SendOutcome;
  try {
    // Kafka gone or frozen: the client hears so in time, never a 202 for what Kafka did not acknowledge.
    outcome = await withinDeadline(deps.sink.send(inputs), deps.settings.kafkaTimeoutMs, 'Kafka acknowledging the events');
  } catch (error: unknown) {
    if (error instanceof ProduceError || error instanceof DeadlineExceeded) {
      return fail(503, 'events could not be stored (Kafka unavailable); none were accepted, retry the request', { 'retry-after': '5' });
    }
    throw error;
  }
  if (outcome.accepted === 0) {
    const reasons = outcome.results.flatMap((r) => (r.status === 'rejected' ? r.errors.map((e) => `${e.path}: ${e.message}`) : []));
    return { status: 422, body: { error: `no event was accepted: ${reasons.slice(0, 5).join('; ')}`, ...outcome } };
  }
  return { status: 202, body: { ...outcome } };
}

function write(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(payload);
}

/** How long a /readyz answer is reused: a flood of probes must not become a flood on Kafka and the registry. */
const READY_CACHE_MS = 2_000;

/** `check` at most once per `ttlMs`, callers in between sharing its answer (and its wait). */
function cachedReadiness(check: () => Promise<ReadinessReport>, ttlMs: number): () => Promise<ReadinessReport> {
  let last: { at: number; answer: Promise<ReadinessReport> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= ttlMs) last = { at: now, answer: check() };
    return last.answer;
  };
}

export interface RunningCollector {
  readonly url: string;
  close(): Promise<void>;
}

export async function startCollector(deps: CollectorDeps): Promise<RunningCollector> {
  const { settings, logger } = deps;
  const keyMatches = secretMatcher(settings.apiKeys);
  const ready = cachedReadiness(deps.ready, READY_CACHE_MS);

  const route = async (req: IncomingMessage): Promise<Reply> => {
    const path = new URL(req.url ?? '/', 'http://collector').pathname;
    if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
    if (path === '/readyz') return readinessReply(await ready());
    if (path !== '/v1/events') return fail(404, `no route ${path}`);
    if (req.method !== 'POST') return fail(405, 'use POST', { allow: 'POST' });
    const refused = admitEvents({ contentType: req.headers['content-type'], keyMatches: keyMatches(presentedSecret(req)) });
    if (refused !== undefined) return refused;
    let body: Buffer;
    try {
      body = await readBody(req, settings.maxBodyBytes);
    } catch (error: unknown) {
      if (error instanceof BodyTooLarge) return fail(413, error.message);
      throw error;
    }
    return handleEvents(body, { settings, sink: deps.sink });
  };

  const server = createLimitedServer(settings.connections, (req, res) => {
    const began = performance.now();
    route(req).then(
      (reply) => {
        // A body left unread (refused before it, or past the limit) is not read: the connection goes.
        if (!req.complete) res.setHeader('connection', 'close');
        write(res, reply);
        if (!req.complete) res.once('finish', () => req.destroy());
        const level = reply.status >= 500 ? 'warn' : 'debug';
        logger[level]({
          event: 'collector.request',
          method: req.method,
          path: req.url,
          status: reply.status,
          ms: performance.now() - began,
        });
      },
      (error: unknown) => {
        logger.error({ event: 'collector.error', err: error }, 'request failed');
        if (!res.headersSent) write(res, fail(500, 'internal error'));
        else res.destroy();
      },
    );
  });
  const port = await listen(server, settings.port, settings.host);
  const url = `http://${settings.host}:${port}`;
  logger.info({ event: 'collector.listening', url }, 'collector listening');
  return {
    url,
    close: () => closeServer(server),
  };
}
