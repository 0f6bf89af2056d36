/**
 * Makes an analyst's SQL safe to run on the embedded engine, which has no users or grants of its
 * own: ClickHouse itself parses it (formatQuery, which also refuses multi-statements), only read
 * statements pass, and the query runs with `readonly = 1` in its own SETTINGS clause — so writes,
 * DDL, and table functions reaching files or URLs are refused by the engine, for this query only
 * (a session-wide SET would bind every other user of the in-process engine too).
 */

export const READ_STATEMENTS = ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXISTS', 'EXPLAIN'] as const;

/** Settings a caller may pass with a query (as URL parameters); others are refused. */
const CALLER_SETTINGS: ReadonlySet<string> = new Set([
  'max_execution_time',
  'max_result_rows',
  'max_result_bytes',
  'result_overflow_mode',
  'max_rows_to_read',
  'output_format_json_quote_64bit_integers',
  'output_format_json_quote_decimals',
  'date_time_output_format',
  'session_timezone',
  'max_threads',
]);
/** What HTTP clients send that has no meaning for an in-process engine; dropped. */
const TRANSPORT_SETTINGS: ReadonlySet<string> = new Set(['wait_end_of_query', 'send_progress_in_http_headers', 'enable_http_compression', 'http_headers_progress_interval_ms', 'readonly']);

export class RefusedQuery extends Error {
  readonly status: number;
  constructor(message: string, status = 403) {
    super(message);
    this.status = status;
  }
}

export interface PreparedQuery {
  readonly sql: string;
  /** From a trailing FORMAT clause, else the caller's default_format. */
  readonly format: string;
}

const SETTING_VALUE = /^[A-Za-z0-9_.:+-]{1,64}$/;

/**
 * `formatted` is the query as ClickHouse's formatQuery printed it: one statement, comments gone,
 * top-level clauses at the start of a line, a FORMAT clause last.
 */
export function prepareReadOnly(formatted: string, defaultFormat: string, settings: Readonly<Record<string, string>>, maxExecutionS: number): PreparedQuery {
  const lines = formatted.trimEnd().split('\n');
  const statement = (lines[0] ?? '').split(/\s/)[0]?.toUpperCase() ?? '';
  if (!(READ_STATEMENTS as readonly string[]).includes(statement)) {
    throw new RefusedQuery(`only reads are allowed here (${READ_STATEMENTS.join(', ')}); got ${statement || 'an empty query'}`);
  }
  let format = defaultFormat;
  const formatLine = /^FORMAT (\w+)$/.exec(lines.at(-1) ?? '');
  if (formatLine?.[1] !== undefined) {
    format = formatLine[1];
    lines.pop();
  }
  const extra: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (TRANSPORT_SETTINGS.has(name)) continue;
    if (!CALLER_SETTINGS.has(name)) throw new RefusedQuery(`setting ${name} is not allowed here; allowed: ${[...CALLER_SETTINGS].join(', ')}`, 400);
    if (!SETTING_VALUE.test(value)) throw new RefusedQuery(`setting ${name} has an unexpected value`, 400);
    extra.push(`${name} = ${/^-?\d+(\.\d+)?$/.test(value) ? value : `'${value}'`}`);
  }
  if (!('max_execution_time' in settings)) extra.push(`max_execution_time = ${maxExecutionS}`);
  // Last, so nothing the query says can loosen it (ClickHouse refuses to lower readonly anyway).
  extra.push('readonly = 1');
  const lastClause = lines.findLast((line) => !/^\s/.test(line)) ?? '';
  const hasSettings = lastClause.startsWith('SETTINGS ');
  const sql = `${lines.join('\n')}${hasSettings ? ', ' : '\nSETTINGS '}${extra.join(', ')}`;
  return { sql, format };
}
