import { describe, expect, it } from 'vitest';
import { checkReadOnlyAst, prepareReadOnly, RefusedQuery } from './read-only-sql.ts';

const LIMITS = { maxExecutionS: 60, maxMemoryBytes: 1_000_000_000, maxResultBytes: 5_000_000 };
const TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['url', 'file', 's3', 'remote', 'numbers', 'view', 'executable', 'mysql']);

// EXPLAIN AST output as ClickHouse (chDB 3.4) prints it for each query.
const AST = {
  select:
    'SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      TableIdentifier journey.events\n Identifier JSON\n',
  numbers:
    'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Function numbers (children 1)\n       ExpressionList (children 1)\n        Literal UInt64_3\n',
  parameterizedView:
    "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Function journey.channel_kpis_daily (children 1)\n       ExpressionList (children 1)\n        Function equals (children 1)\n         ExpressionList (children 2)\n          Identifier time_zone\n          Literal 'UTC'\n",
  otherView:
    "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Function other.channel_kpis_daily (children 1)\n       ExpressionList (children 1)\n        Function equals (children 1)\n         ExpressionList (children 2)\n          Identifier time_zone\n          Literal 'UTC'\n",
  showTables: 'ShowTables (children 1)\n Identifier journey\n',
  describeTable: 'DescribeQuery (children 1)\n TableExpression (children 1)\n  TableIdentifier journey.events\n',
  exists: 'ExistsTableQuery journey events (children 2)\n Identifier journey\n Identifier events\n',
  intoOutfile:
    "SelectWithUnionQuery (children 3)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal 'x'\n Literal '/any/path'\n Identifier RawBLOB\n",
  showIntoOutfile: "ShowTables (children 1)\n Literal '/tmp/y'\n",
  explainIntoOutfile:
    "Explain EXPLAIN (children 2)\n SelectWithUnionQuery (children 1)\n  ExpressionList (children 1)\n   SelectQuery (children 1)\n    ExpressionList (children 1)\n     Literal UInt64_1\n Literal '/tmp/y'\n",
  describeUrl:
    "DescribeQuery (children 1)\n TableExpression (children 1)\n  Function url (children 1)\n   ExpressionList (children 2)\n    Literal 'http://x/'\n    Literal 'CSV'\n",
  describeFile:
    "DescribeQuery (children 1)\n TableExpression (children 1)\n  Function file (children 1)\n   ExpressionList (children 2)\n    Literal '/etc/passwd'\n    Literal 'TSVWithNames'\n",
  scalarFile:
    "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Function FILE (children 1)\n     ExpressionList (children 1)\n      Literal '/etc/passwd'\n",
  remoteInSubquery:
    "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Subquery (alias r) (children 1)\n       SelectWithUnionQuery (children 1)\n        ExpressionList (children 1)\n         SelectQuery (children 2)\n          ExpressionList (children 1)\n           Asterisk\n          TablesInSelectQuery (children 1)\n           TablesInSelectQueryElement (children 1)\n            TableExpression (children 1)\n             Function remote (children 1)\n              ExpressionList (children 2)\n               Literal 'a'\n               Identifier system.one\n",
  unknownTableFunction:
    "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Function icebergS3 (children 1)\n       ExpressionList (children 1)\n        Literal 'x'\n",
  settingsInSubquery:
    'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Subquery (children 1)\n       SelectWithUnionQuery (children 1)\n        ExpressionList (children 1)\n         SelectQuery (children 2)\n          ExpressionList (children 1)\n           Asterisk\n          Set\n',
  explainOptions:
    'Explain EXPLAIN PIPELINE (children 2)\n Set\n SelectWithUnionQuery (children 1)\n  ExpressionList (children 1)\n   SelectQuery (children 1)\n    ExpressionList (children 1)\n     Literal UInt64_1\n',
  insertFunction: "InsertQuery   (children 2)\n Function file (children 1)\n  ExpressionList (children 1)\n   Literal 'x'\n",
  twoStatements:
    'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1\n2\n',
};

const refusal = (ast: string) => {
  try {
    checkReadOnlyAst(ast, TABLE_FUNCTIONS);
    return undefined;
  } catch (error: unknown) {
    return error instanceof RefusedQuery ? { status: error.status, message: error.message } : error;
  }
};

describe('checkReadOnlyAst', () => {
  it.each(['select', 'numbers', 'parameterizedView', 'showTables', 'describeTable', 'exists'] as const)('lets %s through', (name) => {
    expect(refusal(AST[name])).toBeUndefined();
  });

  it.each([
    ['intoOutfile', 403, 'INTO OUTFILE is not allowed here: results come back over HTTP'],
    ['showIntoOutfile', 403, 'INTO OUTFILE is not allowed here: results come back over HTTP'],
    ['explainIntoOutfile', 403, 'INTO OUTFILE is not allowed here: results come back over HTTP'],
    ['describeUrl', 403, "url() is not allowed here: it reaches files, the network or other engines; query journeyline's tables"],
    ['describeFile', 403, "file() is not allowed here: it reaches files, the network or other engines; query journeyline's tables"],
    ['scalarFile', 403, "FILE() is not allowed here: it reaches files, the network or other engines; query journeyline's tables"],
    ['remoteInSubquery', 403, "remote() is not allowed here: it reaches files, the network or other engines; query journeyline's tables"],
    [
      'unknownTableFunction',
      403,
      "icebergS3() is not allowed here: it reaches files, the network or other engines; query journeyline's tables",
    ],
    [
      'settingsInSubquery',
      400,
      'settings inside the query (SETTINGS, EXPLAIN options) are not allowed here: pass allowed settings as URL parameters',
    ],
    [
      'explainOptions',
      400,
      'settings inside the query (SETTINGS, EXPLAIN options) are not allowed here: pass allowed settings as URL parameters',
    ],
    ['insertFunction', 403, 'only reads are allowed here (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN); got InsertQuery'],
    ['twoStatements', 403, 'send exactly one statement'],
    [
      'otherView',
      403,
      "other.channel_kpis_daily() is not allowed here: it reaches files, the network or other engines; query journeyline's tables",
    ],
  ] as const)('refuses %s', (name, status, message) => {
    expect(refusal(AST[name])).toEqual({ status, message });
  });
});

describe('prepareReadOnly', () => {
  it('runs a read within its budget, readonly last, taking the format from its FORMAT clause', () => {
    expect(prepareReadOnly('SELECT 1\nFORMAT JSONEachRow', 'TabSeparated', {}, LIMITS)).toEqual({
      sql: "SELECT 1\nSETTINGS max_execution_time = 60, max_result_bytes = 5000000, output_format_json_quote_64bit_integers = 1, max_memory_usage = 1000000000, result_overflow_mode = 'throw', readonly = 1",
      format: 'JSONEachRow',
    });
  });

  it('lets a caller tighten the budget but never loosen it (0 means no limit to ClickHouse)', () => {
    const { sql } = prepareReadOnly(
      'SELECT 1',
      'TSV',
      { max_execution_time: '0', max_result_bytes: '100', max_threads: '1', session_timezone: 'Asia/Tehran' },
      LIMITS,
    );
    expect(sql).toBe(
      "SELECT 1\nSETTINGS max_execution_time = 60, max_result_bytes = 100, output_format_json_quote_64bit_integers = 1, max_threads = 1, session_timezone = 'Asia/Tehran', max_memory_usage = 1000000000, result_overflow_mode = 'throw', readonly = 1",
    );
    expect(prepareReadOnly('SELECT 1', 'TSV', { max_execution_time: '3600' }, LIMITS).sql).toContain('max_execution_time = 60,');
    expect(prepareReadOnly('SELECT 1', 'TSV', { max_execution_time: '5' }, LIMITS).sql).toContain('max_execution_time = 5,');
  });

  it('refuses settings it does not know, and odd setting values; drops transport settings', () => {
    expect(() => prepareReadOnly('SELECT 1', 'TSV', { allow_ddl: '1' }, LIMITS)).toThrow('setting allow_ddl is not allowed');
    expect(() => prepareReadOnly('SELECT 1', 'TSV', { max_memory_usage: '0' }, LIMITS)).toThrow('setting max_memory_usage is not allowed');
    expect(() => prepareReadOnly('SELECT 1', 'TSV', { max_threads: "1'; DROP" }, LIMITS)).toThrow('unexpected value');
    expect(prepareReadOnly('SHOW TABLES FROM journey', 'TSV', { wait_end_of_query: '1', readonly: '0' }, LIMITS).sql).toMatch(
      /^SHOW TABLES FROM journey\nSETTINGS max_execution_time = 60, .*, readonly = 1$/,
    );
  });
});
