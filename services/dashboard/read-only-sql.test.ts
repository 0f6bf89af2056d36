import { describe, expect, it } from 'vitest';
import { prepareReadOnly, RefusedQuery } from './read-only-sql.ts';

describe('prepareReadOnly', () => {
  it('runs a read with readonly = 1 and a time limit, taking the format from its FORMAT clause', () => {
    expect(prepareReadOnly('SELECT 1\nFORMAT JSONEachRow', 'TabSeparated', {}, 30)).toEqual({
      sql: 'SELECT 1\nSETTINGS max_execution_time = 30, readonly = 1',
      format: 'JSONEachRow',
    });
  });

  it('extends a SETTINGS clause the query already has, readonly last', () => {
    const { sql } = prepareReadOnly('SELECT a\nFROM x\nSETTINGS max_threads = 1', 'TSV', { max_result_rows: '10' }, 30);
    expect(sql).toBe('SELECT a\nFROM x\nSETTINGS max_threads = 1, max_result_rows = 10, max_execution_time = 30, readonly = 1');
  });

  it.each(['INSERT INTO journey.events FORMAT Values', 'DROP TABLE journey.events', 'ALTER TABLE journey.events DELETE WHERE 1', 'SYSTEM DROP DNS CACHE', 'SET readonly = 0', 'OPTIMIZE TABLE journey.events', ''])(
    'refuses %j',
    (formatted) => {
      expect(() => prepareReadOnly(formatted, 'TSV', {}, 30)).toThrow(RefusedQuery);
    },
  );

  it('refuses settings it does not know, and odd setting values', () => {
    expect(() => prepareReadOnly('SELECT 1', 'TSV', { allow_ddl: '1' }, 30)).toThrow('setting allow_ddl is not allowed');
    expect(() => prepareReadOnly('SELECT 1', 'TSV', { max_threads: "1'; DROP" }, 30)).toThrow('unexpected value');
  });

  it('drops transport settings HTTP clients send', () => {
    expect(prepareReadOnly('SHOW TABLES FROM journey', 'TSV', { wait_end_of_query: '1' }, 5).sql).toBe('SHOW TABLES FROM journey\nSETTINGS max_execution_time = 5, readonly = 1');
  });
});
