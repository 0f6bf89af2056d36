/**
 * Read-only SQL over ClickHouse's HTTP interface, for the embedded engine (chDB lives inside this
 * process, so nothing else can open it). GET or POST `/?query=…&default_format=…`, `param_<name>`
 * query parameters, `GET /ping`: enough for curl, `journey sql` and `@clickhouse/client`.
 * Errors come back as ClickHouse writes them (`Code: N. DB::Exception: … (NAME)`), which is what
 * clients parse. Bound to loopback by default; in server mode analysts use ClickHouse itself.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataFormat } from '@clickhouse/client';
import type { ClickHouseClient } from '../common/clickhouse.ts';
import type { Logger } from '../common/logger.ts';
import { prepareReadOnly, RefusedQuery } from './read-only-sql.ts';

export interface QueryEndpointOptions {
  readonly clickhouse: ClickHouseClient;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly maxExecutionS?: number;
  readonly maxQueryBytes?: number;
}

export interface RunningQueryEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/** Not settings: the HTTP interface's own parameters. */
const HTTP_PARAMETERS: ReadonlySet<string> = new Set(['query', 'default_format', 'database', 'query_id', 'user', 'password', 'session_id', 'session_timeout', 'compress', 'decompress']);

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RefusedQuery(`query is larger than ${limit} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function clickHouseErrorText(error: unknown): { status: number; code: string; text: string } {
  if (error instanceof RefusedQuery) {
    return { status: error.status, code: '164', text: `Code: 164. DB::Exception: journeyline: ${error.message}. (READONLY)\n` };
  }
  const message = (error instanceof Error ? error.message : String(error)).trim();
  const { code: rawCode, type } = error as { code?: unknown; type?: unknown };
  const code = typeof rawCode === 'string' ? rawCode : (/^Code: (\d+)/.exec(message)?.[1] ?? '1000');
  let text = /^Code: \d+/.test(message) ? message : `Code: ${code}. DB::Exception: ${message}`;
  // Clients read the error name from the trailing "(NAME)", as the server writes it.
  if (typeof type === 'string' && !text.endsWith(`(${type})`)) text = `${text} (${type})`;
  // Refusals and the caller's syntax and analysis errors are 4xx; the rest are ours.
  const status = code === '164' ? 403 : ['62', '46', '47', '60', '81', '43', '386', '36', '497'].includes(code) ? 400 : 500;
  return { status, code, text: `${text}\n` };
}

export async function startQueryEndpoint(options: QueryEndpointOptions): Promise<RunningQueryEndpoint> {
  const { clickhouse, logger } = options;
  const maxQueryBytes = options.maxQueryBytes ?? 1024 * 1024;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping' || (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))) {
      response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (request.method !== 'GET' && request.method !== 'POST')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Code: 1000. DB::Exception: not found: use GET or POST / (ClickHouse HTTP interface). (UNKNOWN)\n');
      return;
    }
    const body = request.method === 'POST' ? await readBody(request, maxQueryBytes) : '';
    const query = [url.searchParams.get('query') ?? '', body].filter((part) => part.trim() !== '').join(' ');
    if (query.trim() === '') throw new RefusedQuery('empty query: pass it as ?query= or as the POST body', 400);
    const params: Record<string, string> = {};
    const settings: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      if (name.startsWith('param_')) params[name.slice('param_'.length)] = value;
      else if (!HTTP_PARAMETERS.has(name)) settings[name] = value;
    }
    const parsed = await clickhouse.query({ query: 'SELECT formatQuery({sql:String}) AS sql', query_params: { sql: query }, format: 'JSONEachRow' });
    const [row] = await parsed.json<{ sql: string }>();
    const prepared = prepareReadOnly(row?.sql ?? '', url.searchParams.get('default_format') ?? 'TabSeparated', settings, options.maxExecutionS ?? 60);
    const began = performance.now();
    const result = await clickhouse.exec({ query: prepared.sql, query_params: params, clickhouse_settings: { default_format: prepared.format as DataFormat } });
    response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-format': prepared.format, 'x-clickhouse-query-id': result.query_id });
    for await (const chunk of result.stream) response.write(chunk as Buffer);
    response.end();
    logger.debug({ event: 'query.served', ms: Math.round(performance.now() - began), format: prepared.format });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const { status, code, text } = clickHouseErrorText(error);
      logger.info({ event: 'query.refused', status, reason: text.trim().slice(0, 300) });
      if (!response.headersSent) response.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': code });
      response.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
