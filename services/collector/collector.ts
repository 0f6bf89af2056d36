/**
 * HTTP edge over the producer library.
 *   POST /v1/events  one event or an array; Authorization: Bearer <key>
 *   GET  /healthz    the process is up
 *   GET  /readyz     Kafka and the schema registry answer
 *
 * Answers: 202 with per-event results when at least one event was accepted; 422 with the same
 * body when none was; 400 for a body that is not JSON or not events; 401 bad key; 413 too large
 * or too many events; 415 not JSON content; 503 when Kafka refused the batch (nothing was
 * accepted; retrying is safe because event_ids are idempotency keys).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { ProduceError, type SendOutcome } from '../producer/event-producer.ts';

export interface EventSink {
  send(inputs: readonly unknown[]): Promise<SendOutcome>;
}

export interface CollectorDeps {
  readonly settings: Config['collector'];
  readonly sink: EventSink;
  readonly logger: Logger;
  /** Resolves true when downstream (Kafka, registry) answers. */
  readonly ready: () => Promise<boolean>;
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

const digest = (key: string) => createHash('sha256').update(key).digest();

/** Constant-time over the key set, so response timing does not leak key prefixes. */
export function apiKeyMatcher(keys: readonly string[]): (presented: string) => boolean {
  const digests = keys.map(digest);
  return (presented) => {
    const candidate = digest(presented);
    let match = false;
    for (const known of digests) match = timingSafeEqual(known, candidate) || match;
    return match;
  };
}

/** Pure request handling for POST /v1/events once the body is read. */
export async function handleEvents(
  request: { authorization: string | undefined; contentType: string | undefined; body: Buffer },
  deps: { settings: Config['collector']; sink: EventSink; keyMatches: (key: string) => boolean },
): Promise<Reply> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? '')?.[1];
  if (bearer === undefined || !deps.keyMatches(bearer)) {
    return fail(401, 'missing or unknown API key: send Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
  }
  if (!/^application\/(.+\+)?json\b/i.test(request.contentType ?? '')) {
    return fail(415, 'Content-Type must be application/json');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body.toString('utf8'));
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
    outcome = await deps.sink.send(inputs);
  } catch (error: unknown) {
    if (error instanceof ProduceError) {
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

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      resolve('too-large');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(over ? 'too-large' : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function write(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(payload);
}

export interface RunningCollector {
  readonly url: string;
  close(): Promise<void>;
}

export async function startCollector(deps: CollectorDeps): Promise<RunningCollector> {
  const { settings, logger } = deps;
  const keyMatches = apiKeyMatcher(settings.apiKeys);

  const route = async (req: IncomingMessage): Promise<Reply> => {
    const path = new URL(req.url ?? '/', 'http://collector').pathname;
    if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
    if (path === '/readyz') {
      const ready = await deps.ready().catch(() => false);
      return ready ? { status: 200, body: { status: 'ready' } } : fail(503, 'not ready: Kafka or the schema registry does not answer');
    }
    if (path !== '/v1/events') return fail(404, `no route ${path}`);
    if (req.method !== 'POST') return fail(405, 'use POST', { allow: 'POST' });
    const body = await readBody(req, settings.maxBodyBytes);
    if (body === 'too-large') return fail(413, `body is larger than ${settings.maxBodyBytes} bytes`);
    return handleEvents(
      { authorization: req.headers.authorization, contentType: req.headers['content-type'], body },
      { settings, sink: deps.sink, keyMatches },
    );
  };

  const server = http.createServer((req, res) => {
    const began = performance.now();
    route(req).then(
      (reply) => {
        write(res, reply);
        const level = reply.status >= 500 ? 'warn' : 'debug';
        logger[level]({ event: 'collector.request', method: req.method, path: req.url, status: reply.status, ms: performance.now() - began });
      },
      (error: unknown) => {
        logger.error({ event: 'collector.error', err: error }, 'request failed');
        if (!res.headersSent) write(res, fail(500, 'internal error'));
        else res.destroy();
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${settings.host}:${port}`;
  logger.info({ event: 'collector.listening', url }, 'collector listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
