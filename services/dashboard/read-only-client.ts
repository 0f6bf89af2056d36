/**
 * The read-only query path every reader of ClickHouse takes (`journey sql`, `journey alerts`, the
 * dashboard): ClickHouse's HTTP interface on the server itself (CLICKHOUSE_URL), or the running
 * product's query endpoint (QUERY_URL, with its token). Values go as `param_<name>` query
 * parameters ({name:Type} in the query), never into its text.
 */
import type { Config } from '../common/config.ts';
import { redactUrl } from '../common/config.ts';
import { basicAuthorization } from '../common/http.ts';
import { queryTokenOf } from './query-token.ts';

export async function readOnlyQuery(
  config: Config,
  query: string,
  options: { readonly format: string; readonly params?: Readonly<Record<string, string>>; readonly signal?: AbortSignal },
): Promise<{ readonly ok: boolean; readonly text: string }> {
  const base = config.clickhouse.url ?? config.query.url;
  const url = new URL(base);
  url.searchParams.set('default_format', options.format);
  for (const [name, value] of Object.entries(options.params ?? {})) url.searchParams.set(`param_${name}`, value);
  // A server enforces read-only through the user's profile; readonly=1 here asks for it as well.
  if (config.clickhouse.url !== undefined) url.searchParams.set('readonly', '1');
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  if (config.clickhouse.url !== undefined)
    headers.authorization = basicAuthorization(config.clickhouse.username, config.clickhouse.password);
  else {
    const token = queryTokenOf(config.query);
    if (token === undefined)
      throw new Error(
        `no query token: start journeyline (npm start), which writes one to ${config.query.tokenFile}, or set QUERY_API_KEYS`,
      );
    headers.authorization = `Bearer ${token}`;
  }
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: query, headers, ...(options.signal && { signal: options.signal }) });
  } catch (error: unknown) {
    throw new Error(
      `cannot reach ${redactUrl(base)}: is journeyline running (npm start)? ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
      { cause: error },
    );
  }
  return { ok: response.ok, text: await response.text() };
}

/** The rows of a read-only query as JSON objects (JSONEachRow); a refused or failed query throws with ClickHouse's text. */
export async function readOnlyRows(
  config: Config,
  query: string,
  params: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<unknown[]> {
  const answer = await readOnlyQuery(config, query, { format: 'JSONEachRow', params, ...(signal && { signal }) });
  if (!answer.ok) throw new Error(answer.text.trim().slice(0, 500));
  return answer.text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
