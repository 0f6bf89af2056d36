/**
 * Decides whether an analyst's SQL may run on the embedded engine, which has no users or grants
 * of its own, from ClickHouse's own parse tree (`EXPLAIN AST` of the query as `formatQuery`
 * printed it), never from words: one read statement; no INTO OUTFILE; no SETTINGS inside the
 * query; no table function that reaches files, URLs, object stores, other servers or programs
 * (schema inference for those ignores `readonly`, so the engine alone would not stop them);
 * journeyline's own parameterized views, called like table functions, are tables here.
 * What passes runs with its budget (time, memory, result size) and `readonly = 1` appended as
 * the query's own SETTINGS clause, so nothing the caller sends can loosen them. Pure.
 */

import { PARAMETERIZED_VIEWS } from '../../schemas/clickhouse/migrations.ts';

export class RefusedQuery extends Error {
  readonly status: number;
  constructor(message: string, status = 403) {
    super(message);
    this.name = 'RefusedQuery';
    this.status = status;
  }
}

/** The budget of one analyst query. */
export interface QueryLimits {
  readonly maxExecutionS: number;
  readonly maxMemoryBytes: number;
  readonly maxResultBytes: number;
}

/** Statements that read: SELECT (and WITH, UNION, INTERSECT), SHOW, DESCRIBE, EXISTS, SHOW CREATE, EXPLAIN. */
const READ_ROOTS = /^(SelectWithUnionQuery|ShowTables|DescribeQuery|Exists\w*Query|ShowCreate\w*Query|Explain)$/;

/** Table functions that only generate values, lower-cased: everything else is refused. */
const GENERATOR_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'generateseries',
  'generate_series',
  'primes',
  'values',
  'view',
  'null',
]);

interface AstNode {
  readonly depth: number;
  readonly type: string;
  readonly name: string;
}

function parseAst(ast: string): AstNode[] {
  return ast
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [type = '', name = ''] = line.trim().split(' ');
      return { depth: line.length - line.trimStart().length, type, name };
    });
}

/**
 * Throws RefusedQuery unless the `EXPLAIN AST` output describes one read statement that touches
 * only tables and generator functions; says whether it is a SELECT (whose result can be any size). `tableFunctions`: every table function the engine knows,
 * lower-cased (system.table_functions), so a scalar function named like one (`file(path)`, which
 * reads a file) is refused too.
 */
export function checkReadOnlyAst(ast: string, tableFunctions: ReadonlySet<string>): { readonly select: boolean } {
  const nodes = parseAst(ast);
  const roots = nodes.filter((node) => node.depth === 0);
  if (roots.length !== 1) throw new RefusedQuery('send exactly one statement');
  const root = roots[0] as AstNode;
  if (!READ_ROOTS.test(root.type))
    throw new RefusedQuery(`only reads are allowed here (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN); got ${root.type}`);
  nodes.forEach((node, index) => {
    // The output file (and its compression) of INTO OUTFILE hang off the statement as literals.
    if (node.depth === 1 && node.type === 'Literal')
      throw new RefusedQuery('INTO OUTFILE is not allowed here: results come back over HTTP');
    if (node.type === 'Set') {
      throw new RefusedQuery(
        'settings inside the query (SETTINGS, EXPLAIN options) are not allowed here: pass allowed settings as URL parameters',
        400,
      );
    }
    if (node.type !== 'Function') return;
    const name = node.name.toLowerCase();
    const parent = nodes.slice(0, index).findLast((candidate) => candidate.depth === node.depth - 1);
    const inFrom = parent?.type === 'TableExpression' || parent?.type === 'InsertQuery';
    if (inFrom && PARAMETERIZED_VIEWS.includes(name)) return;
    if ((inFrom || tableFunctions.has(name)) && !GENERATOR_TABLE_FUNCTIONS.has(name)) {
      throw new RefusedQuery(
        `${node.name}() is not allowed here: it reaches files, the network or other engines; query journeyline's tables`,
      );
    }
  });
  return { select: root.type === 'SelectWithUnionQuery' };
}

/** Settings a caller may pass with a query (as URL parameters); others are refused. */
const CALLER_SETTINGS: ReadonlySet<string> = new Set([
  'max_execution_time',
  'max_result_rows',
  'max_result_bytes',
  'max_rows_to_read',
  'max_threads',
  'output_format_json_quote_64bit_integers',
  'output_format_json_quote_decimals',
  'date_time_output_format',
  'session_timezone',
]);
/** What HTTP clients send that means nothing to an in-process engine, or that we set ourselves; dropped. */
const TRANSPORT_SETTINGS: ReadonlySet<string> = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'enable_http_compression',
  'http_headers_progress_interval_ms',
  'readonly',
  'result_overflow_mode',
]);
/** Caller settings that may only tighten the budget: 0 ("no limit") or more than it becomes the budget. */
const capOf = (name: string, limits: QueryLimits): number | undefined =>
  name === 'max_execution_time' ? limits.maxExecutionS : name === 'max_result_bytes' ? limits.maxResultBytes : undefined;

const SETTING_VALUE = /^[A-Za-z0-9_.:+/-]{1,64}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

export interface PreparedQuery {
  readonly sql: string;
  /** From a trailing FORMAT clause, else the caller's default_format. */
  readonly format: string;
}

/**
 * `formatted` is the query as ClickHouse's formatQuery printed it (one statement, a FORMAT
 * clause on its own last line), already through checkReadOnlyAst.
 */
export function prepareReadOnly(
  formatted: string,
  defaultFormat: string,
  settings: Readonly<Record<string, string>>,
  limits: QueryLimits,
): PreparedQuery {
  const lines = formatted.trimEnd().split('\n');
  let format = defaultFormat;
  const formatLine = /^FORMAT (\w+)$/.exec(lines.at(-1) ?? '');
  if (formatLine?.[1] !== undefined) {
    format = formatLine[1];
    lines.pop();
  }
  const applied = new Map<string, string>([
    ['max_execution_time', String(limits.maxExecutionS)],
    ['max_result_bytes', String(limits.maxResultBytes)],
    // The server's default; chDB's is 0. JSON clients expect 64-bit integers quoted.
    ['output_format_json_quote_64bit_integers', '1'],
  ]);
  for (const [name, value] of Object.entries(settings)) {
    if (TRANSPORT_SETTINGS.has(name)) continue;
    if (!CALLER_SETTINGS.has(name))
      throw new RefusedQuery(`setting ${name} is not allowed here; allowed: ${[...CALLER_SETTINGS].join(', ')}`, 400);
    if (!SETTING_VALUE.test(value)) throw new RefusedQuery(`setting ${name} has an unexpected value`, 400);
    const cap = capOf(name, limits);
    if (cap !== undefined) applied.set(name, String(NUMBER.test(value) && Number(value) > 0 ? Math.min(Number(value), cap) : cap));
    else applied.set(name, NUMBER.test(value) ? value : `'${value}'`);
  }
  applied.set('max_memory_usage', String(limits.maxMemoryBytes));
  applied.set('result_overflow_mode', "'throw'");
  // Last, so nothing before it can loosen it (ClickHouse refuses to lower readonly anyway).
  applied.set('readonly', '1');
  const clause = [...applied].map(([name, value]) => `${name} = ${value}`).join(', ');
  return { sql: `${lines.join('\n')}\nSETTINGS ${clause}`, format };
}
