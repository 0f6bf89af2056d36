/**
 * The read-only SQL endpoint against the real embedded engine, as an attacker and an unlucky
 * analyst would use it: it writes no file, reaches no network, keeps to its budget, wants a token
 * and its own Host, cancels what a client abandons, and never holds up the sink's inserts.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, insertRows, type ClickHouseClient } from '../../services/common/clickhouse.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate } from '../../services/common/migrations.ts';
import { startQueryEndpoint, type RunningQueryEndpoint } from '../../services/dashboard/query-endpoint.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';
import { testConfig } from '../helpers/config.ts';
import { TEST_QUERY_TOKEN } from '../helpers/sql.ts';
import { eventId } from '../helpers/event-ids.ts';

const config = testConfig({ QUERY_PORT: '0', QUERY_MAX_EXECUTION_S: '3', QUERY_MAX_RESULT_BYTES: '2000000', QUERY_MAX_CONCURRENT: '1' });
const scratch = mkdtempSync(path.join(tmpdir(), 'journeyline-query-'));
let endpoint: RunningQueryEndpoint;
let sink: ClickHouseClient;

beforeAll(async () => {
  // The sink's own client on the same data directory, as in `journey start`.
  sink = createClickHouse(config.clickhouse);
  await migrate(sink, journeyMigrations());
  endpoint = await startQueryEndpoint({
    chdbPath: config.clickhouse.chdbPath,
    settings: config.query,
    apiKeys: [TEST_QUERY_TOKEN],
    logger: createLogger('silent'),
  });
});
afterAll(async () => {
  await endpoint.close();
  await sink.close();
});

const auth = { authorization: `Bearer ${TEST_QUERY_TOKEN}` };
async function ask(query: string, init: { headers?: Record<string, string>; search?: Record<string, string> } = {}) {
  const url = new URL(endpoint.url);
  for (const [name, value] of Object.entries(init.search ?? {})) url.searchParams.set(name, value);
  const response = await fetch(url, { method: 'POST', body: query, headers: { ...auth, ...init.headers } });
  return { status: response.status, text: await response.text() };
}

/** fetch() will not send another Host header: node:http does, as a rebinding attacker's browser would. */
function askWithHost(host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL('/?query=SELECT%201', endpoint.url), { headers: { ...auth, host } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, text });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the query endpoint', () => {
  it('answers reads, with query parameters, for a Bearer token or a Basic password', async () => {
    expect(await ask('SELECT {n:UInt8} + 1 AS two FORMAT JSONEachRow', { search: { param_n: '1' } })).toEqual({
      status: 200,
      text: '{"two":2}\n',
    });
    const basic = `Basic ${Buffer.from(`analyst:${TEST_QUERY_TOKEN}`).toString('base64')}`;
    expect(await ask('SHOW TABLES FROM journey', { headers: { authorization: basic } })).toMatchObject({
      status: 200,
      text: expect.stringContaining('segment_kpis') as unknown,
    });
  });

  it.each([
    'DESCRIBE TABLE journey.events',
    'EXISTS TABLE journey.events',
    'SHOW CREATE TABLE journey.events',
    'EXPLAIN SELECT count() FROM journey.events',
    'WITH 2 AS two SELECT two * number FROM numbers(3)',
    'SELECT 1 UNION ALL SELECT 2',
  ])('runs every kind of read: %s', async (query) => {
    expect((await ask(query)).status).toBe(200);
  });

  it('writes no file: INTO OUTFILE is refused, TRUNCATE and APPEND alike', async () => {
    const target = path.join(scratch, 'victim.txt');
    writeFileSync(target, 'keep');
    for (const mode of ['TRUNCATE', 'APPEND']) {
      const answer = await ask(`SELECT 'x' INTO OUTFILE '${target}' ${mode} FORMAT RawBLOB`);
      expect(answer).toEqual({
        status: 403,
        text: 'Code: 164. DB::Exception: journeyline: INTO OUTFILE is not allowed here: results come back over HTTP. (READONLY)\n',
      });
    }
    expect(await ask(`SHOW TABLES INTO OUTFILE '${path.join(scratch, 'new.txt')}'`)).toMatchObject({ status: 403 });
    expect([readFileSync(target, 'utf8'), existsSync(path.join(scratch, 'new.txt'))]).toEqual(['keep', false]);
  });

  it.each([
    "DESCRIBE url('http://127.0.0.1:9/never', 'CSV')",
    "DESCRIBE file('/etc/passwd', 'TSVWithNames')",
    "SELECT file('/etc/passwd')",
    "DESCRIBE s3('http://127.0.0.1:9/bucket/x.csv')",
    "SELECT * FROM remote('127.0.0.1:9', system.one)",
    "SELECT * FROM journey.events WHERE event_id IN (SELECT * FROM URL('http://127.0.0.1:9/x', CSV))",
    "SELECT * FROM executable('id', 'TSV', 'x String')",
  ])('reaches no file or network: %s', async (query) => {
    const answer = await ask(query);
    expect(answer.status).toBe(403);
    expect(answer.text).toMatch(/is not allowed here: it reaches files, the network or other engines/);
  });

  it('keeps to its budget: no in-query SETTINGS, a time limit no caller can lift, a result size cap', async () => {
    expect(await ask('SELECT 1 SETTINGS readonly = 0')).toMatchObject({
      status: 400,
      text: expect.stringContaining('settings inside the query') as unknown,
    });
    expect(await ask('SELECT 1', { search: { allow_ddl: '1' } })).toMatchObject({
      status: 400,
      text: expect.stringContaining('setting allow_ddl is not allowed') as unknown,
    });
    const slow = await ask('SELECT count() FROM numbers(1000000000000)', { search: { max_execution_time: '0' } });
    expect([slow.status, /\(TIMEOUT_EXCEEDED\)/.test(slow.text)]).toEqual([400, true]);
    const huge = await ask("SELECT repeat('x', 100) FROM numbers(100000000)");
    expect(huge.text.length).toBeLessThan(3_000_000);
    expect(huge.text).toMatch(/(TOO_MANY_ROWS_OR_BYTES|QUERY_MAX_RESULT_BYTES)/);
  });

  it('wants a token, its own Host and no foreign Origin; a refused body is never read', async () => {
    expect(await ask('SELECT 1', { headers: { authorization: '' } })).toMatchObject({ status: 401 });
    expect(await ask('SELECT 1', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).toMatchObject({ status: 401 });
    expect(await askWithHost('attacker.example:8123')).toMatchObject({
      status: 403,
      text: expect.stringContaining('is not this endpoint') as unknown,
    });
    expect(await askWithHost(`localhost:${new URL(endpoint.url).port}`)).toEqual({ status: 200, text: '1\n' });
    expect(await ask('SELECT 1', { headers: { origin: 'https://attacker.example' } })).toMatchObject({ status: 403 });
    expect(await ask(`SELECT '${'x'.repeat(2_000_000)}'`, { headers: { authorization: '' } })).toMatchObject({ status: 401 });
  });

  it('cancels the query of a client that goes away, freeing its slot', async () => {
    // One slot and a 60 s budget: an abandoned query left running would hold the slot past the
    // 10 s a next query waits for one, and that query would be answered 503.
    const patient = testConfig({
      QUERY_PORT: '0',
      QUERY_MAX_EXECUTION_S: '60',
      QUERY_MAX_CONCURRENT: '1',
      CHDB_PATH: config.clickhouse.chdbPath,
    });
    const solo = await startQueryEndpoint({
      chdbPath: config.clickhouse.chdbPath,
      settings: patient.query,
      apiKeys: [TEST_QUERY_TOKEN],
      logger: createLogger('silent'),
    });
    try {
      const abandon = new AbortController();
      const response = await fetch(
        new URL(`/?query=${encodeURIComponent("SELECT repeat('x', 1000) FROM numbers(100000000000)")}`, solo.url),
        { headers: auth, signal: abandon.signal },
      );
      await response.body?.getReader().read();
      abandon.abort();
      const next = await fetch(new URL('/?query=SELECT%2042', solo.url), { headers: auth });
      expect({ status: next.status, text: await next.text() }).toEqual({ status: 200, text: '42\n' });
    } finally {
      await solo.close();
    }
  });

  it("runs beside the sink's inserts, never ahead of them", async () => {
    const analyst = ask('SELECT count() FROM numbers(1000000000000)').then(() => 'analyst done');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const insert = insertRows(
      sink,
      'journey.alerts',
      [
        {
          alert_id: eventId(1),
          fired_at: '2026-11-20 00:00:00.000',
          segment: 'smb',
          day: '2026-11-20',
          kind: 'churn',
          severity: 'info',
          metric: 'm',
          value: 1,
          threshold: 1,
          message: '',
        },
      ],
      'query-endpoint-test',
    ).then(() => 'insert done');
    expect(await Promise.race([analyst, insert])).toBe('insert done');
    await analyst;
  });
});
