/**
 * Read-only SQL over ClickHouse's HTTP interface, for the embedded engine (chDB lives inside the
 * process that runs the sink, so nothing else can open it). GET or POST `/?query=…&default_format=…`,
 * `param_<name>` query parameters, `GET /ping`: enough for curl, `journey sql` and
 * `@clickhouse/client`. Errors come back as ClickHouse writes them (`Code: N. DB::Exception: …
 * (NAME)`), which is what clients parse.
 *
 * Defences, in the order a request meets them:
 * - the Host header must name this endpoint (DNS rebinding) and an Origin, if any, too (a web page
 *   the analyst has open cannot post here);
 * - a token (Bearer, or the password of Basic auth) before anything is read;
 * - the body is read up to 1 MiB;
 * - ClickHouse parses the query (formatQuery: one statement) and its parse tree decides
 *   (read-only-sql.ts): reads only, no INTO OUTFILE, no in-query settings, no table functions
 *   reaching files or the network;
 * - it runs in an analysts' session of its own (chdb-sessions.ts), never the sink's, with a
 *   budget of time, memory and result bytes and readonly = 1, at most QUERY_MAX_CONCURRENT at once;
 * - the result streams with backpressure, and a client that goes away cancels its query.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChdbSessionPool, EngineBusy, type AnalystSession } from '../common/chdb-sessions.ts';
import type { Config } from '../common/config.ts';
import {
  BodyTooLarge,
  closeServer,
  createLimitedServer,
  hostMatcher,
  listen,
  presentedSecret,
  readBody,
  secretMatcher,
} from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { checkReadOnlyAst, prepareReadOnly, RefusedQuery } from './read-only-sql.ts';

export interface QueryEndpointOptions {
  readonly chdbPath: string;
  readonly settings: Config['query'];
  /** The tokens accepted; at least one. */
  readonly apiKeys: readonly string[];
  readonly logger: Logger;
}

export interface RunningQueryEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_QUERY_BYTES = 1024 * 1024;
/** How long a query waits for a free analysts' session before the answer is 503. */
const SLOT_WAIT_MS = 10_000;

/** Not settings: the HTTP interface's own parameters. */
const HTTP_PARAMETERS: ReadonlySet<string> = new Set([
  'query',
  'default_format',
  'database',
  'query_id',
  'user',
  'password',
  'session_id',
  'session_timeout',
  'compress',
  'decompress',
]);

function clickHouseErrorText(error: unknown): { status: number; code: string; text: string } {
  if (error instanceof RefusedQuery) {
    return { status: error.status, code: '164', text: `Code: 164. DB::Exception: journeyline: ${error.message}. (READONLY)\n` };
  }
  if (error instanceof BodyTooLarge)
    return { status: 413, code: '164', text: `Code: 164. DB::Exception: journeyline: query ${error.message}. (READONLY)\n` };
  if (error instanceof EngineBusy)
    return {
      status: 503,
      code: '202',
      text: `Code: 202. DB::Exception: journeyline: ${error.message}; retry. (TOO_MANY_SIMULTANEOUS_QUERIES)\n`,
    };
  const message = (error instanceof Error ? error.message : String(error)).trim();
  const { clickhouseCode, type } = error as { clickhouseCode?: unknown; type?: unknown };
  const code = typeof clickhouseCode === 'number' ? String(clickhouseCode) : (/^Code: (\d+)/.exec(message)?.[1] ?? '1000');
  let text = /^Code: \d+/.test(message) ? message : `Code: ${code}. DB::Exception: ${message}`;
  // Clients read the error name from the trailing "(NAME)", as the server writes it.
  if (typeof type === 'string' && !text.endsWith(`(${type})`)) text = `${text} (${type})`;
  // The caller's syntax, analysis and limit errors are 4xx; the rest are ours.
  const status = ['62', '46', '47', '60', '81', '43', '386', '36', '497', '456', '159', '241', '396', '158'].includes(code) ? 400 : 500;
  return { status, code, text: `${text}\n` };
}

/** The endpoint while it runs: its engine sessions and who may ask, the requests it admits and runs. */
class QueryEndpoint {
  private readonly settings: Config['query'];
  private readonly logger: Logger;
  private readonly tokenMatches: (presented: string | undefined) => boolean;
  private readonly pool: ChdbSessionPool;
  private readonly tableFunctions: ReadonlySet<string>;
  /** Known once the server listens (the port may be chosen then): until then every host is refused. */
  private hostAllowed: ((host: string | undefined) => boolean) | undefined;

  constructor(options: QueryEndpointOptions, pool: ChdbSessionPool, tableFunctions: ReadonlySet<string>) {
    this.settings = options.settings;
    this.logger = options.logger;
    this.tokenMatches = secretMatcher(options.apiKeys);
    this.pool = pool;
    this.tableFunctions = tableFunctions;
  }

  listeningOn(port: number): void {
    this.hostAllowed = hostMatcher(this.settings.host, this.settings.allowedHosts, port);
  }

  close(): void {
    this.pool.close();
  }

  /** Everything before the query runs: who is asking, and what. */
  private async admit(request: IncomingMessage, url: URL) {
    const hostAllowed = this.hostAllowed ?? (() => false);
    if (!hostAllowed(request.headers.host))
      throw new RefusedQuery(`Host ${request.headers.host ?? '(none)'} is not this endpoint's (QUERY_ALLOWED_HOSTS)`);
    const origin = request.headers.origin;
    if (origin !== undefined && !hostAllowed(URL.canParse(origin) ? new URL(origin).host : undefined))
      throw new RefusedQuery(`requests from ${origin} are not allowed`);
    if (!this.tokenMatches(presentedSecret(request) ?? url.searchParams.get('password') ?? undefined)) {
      throw new RefusedQuery('a token is required: Authorization: Bearer <token> (npm start prints where it is; QUERY_API_KEYS)', 401);
    }
    const body = request.method === 'POST' ? (await readBody(request, MAX_QUERY_BYTES)).toString('utf8') : '';
    const query = [url.searchParams.get('query') ?? '', body].filter((part) => part.trim() !== '').join(' ');
    if (query.trim() === '') throw new RefusedQuery('empty query: pass it as ?query= or as the POST body', 400);
    const params: Record<string, string> = {};
    const callerSettings: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      if (name.startsWith('param_')) params[name.slice('param_'.length)] = value;
      else if (!HTTP_PARAMETERS.has(name)) callerSettings[name] = value;
    }
    return { query, params, callerSettings, defaultFormat: url.searchParams.get('default_format') ?? 'TabSeparated' };
  }

  private async run(session: AnalystSession, response: ServerResponse, asked: Awaited<ReturnType<QueryEndpoint['admit']>>) {
    const { limits } = this.settings;
    const formatted = await session.text('SELECT formatQuery({sql:String})', { sql: asked.query });
    const { select } = checkReadOnlyAst(await session.text(`EXPLAIN AST ${formatted}`, asked.params), this.tableFunctions);
    const prepared = prepareReadOnly(formatted, asked.defaultFormat, asked.callerSettings, limits);
    // A client that goes away, or a query that outlives its budget, cancels the stream.
    const cancel = new AbortController();
    response.once('close', () => {
      cancel.abort();
    });
    const signal = AbortSignal.any([cancel.signal, AbortSignal.timeout((limits.maxExecutionS + 5) * 1000)]);
    // Only SELECTs stream; SHOW, DESCRIBE, EXISTS and EXPLAIN answer in a few rows.
    const chunks = select
      ? session.stream(prepared.sql, asked.params, prepared.format, signal)
      : [await session.whole(prepared.sql, asked.params, prepared.format, signal)];
    const writeHead = () => {
      if (!response.headersSent)
        response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-format': prepared.format });
    };
    let sent = 0;
    for await (const chunk of chunks) {
      writeHead();
      sent += chunk.byteLength;
      if (sent > limits.maxResultBytes) {
        cancel.abort();
        throw new RefusedQuery(
          `the result is larger than ${limits.maxResultBytes} bytes (QUERY_MAX_RESULT_BYTES): narrow it or add LIMIT`,
          400,
        );
      }
      if (!response.write(chunk)) await once(response, 'drain', { signal });
    }
    writeHead();
    response.end();
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping' || (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))) {
      response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (request.method !== 'GET' && request.method !== 'POST')) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Code: 1000. DB::Exception: not found: use GET or POST / (ClickHouse HTTP interface). (UNKNOWN)\n');
      return;
    }
    const asked = await this.admit(request, url);
    const began = performance.now();
    await this.pool.with(SLOT_WAIT_MS, (session) => this.run(session, response, asked));
    this.logger.debug({ event: 'query.served', ms: Math.round(performance.now() - began) });
  }

  /** A request that failed, answered as ClickHouse's server answers: its error text and code. */
  refuse(error: unknown, request: IncomingMessage, response: ServerResponse): void {
    const { status, code, text } = clickHouseErrorText(error);
    this.logger.info({ event: 'query.refused', status, reason: text.trim().slice(0, 300) });
    if (response.headersSent) {
      // As the server does: the exception ends the body that was already streaming.
      response.end(`\n${text}`);
      return;
    }
    response.writeHead(status, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-exception-code': code,
      ...(status === 401 && { 'www-authenticate': 'Bearer' }),
    });
    response.end(text);
    // A refused request's unread body is not worth reading.
    if (!request.complete) request.destroy();
  }
}

export async function startQueryEndpoint(options: QueryEndpointOptions): Promise<RunningQueryEndpoint> {
  const { settings } = options;
  if (options.apiKeys.length === 0) throw new Error('the query endpoint needs at least one token (QUERY_API_KEYS)');
  const pool = new ChdbSessionPool(options.chdbPath, settings.limits.maxConcurrent);
  const tableFunctions = await pool.with(
    SLOT_WAIT_MS,
    async (session) => new Set((await session.text('SELECT lower(name) FROM system.table_functions', {})).split('\n').filter(Boolean)),
  );
  const endpoint = new QueryEndpoint(options, pool, tableFunctions);
  const server = createLimitedServer(
    { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 10_000, maxConnections: 256 },
    (request, response) => {
      endpoint.handle(request, response).catch((error: unknown) => {
        endpoint.refuse(error, request, response);
      });
    },
  );
  let port: number;
  try {
    port = await listen(server, settings.port, settings.host);
  } catch (error: unknown) {
    endpoint.close();
    throw error;
  }
  endpoint.listeningOn(port);
  return {
    url: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`,
    close: async () => {
      await closeServer(server);
      endpoint.close();
    },
  };
}
