/**
 * Sessions of the embedded engine (chDB) for analysts' queries, apart from the sink's.
 *
 * chDB binds one data directory per process, but several sessions on that directory coexist and
 * run their queries concurrently (each on a libuv thread): an analyst's query in its own session
 * neither waits for nor delays the sink's inserts. A session streams one result at a time, so
 * the pool holds `size` of them and that many queries run at once; a caller waits for a free one
 * up to a deadline, then is told the engine is busy. Results stream chunk by chunk and stop when
 * the caller's signal aborts (a client that went away), so nothing buffers a whole result.
 */
import { mkdirSync } from 'node:fs';
import { Session } from 'chdb';
import { Pool } from './pool.ts';

export class EngineBusy extends Error {
  constructor(waitedMs: number) {
    super(`all analyst query slots stayed busy for ${waitedMs} ms`);
    this.name = 'EngineBusy';
  }
}

export interface AnalystSession {
  /** A small result (a parse, a plan) as text. `params` bind `{name:Type}` placeholders. */
  text(sql: string, params: Readonly<Record<string, string>>): Promise<string>;
  /** A small result (SHOW, DESCRIBE, EXPLAIN) in one piece, in `format`. */
  whole(sql: string, params: Readonly<Record<string, string>>, format: string, signal: AbortSignal): Promise<Uint8Array>;
  /** A result of any size, chunk by chunk, until `signal` aborts. chDB streams SELECTs only. */
  stream(sql: string, params: Readonly<Record<string, string>>, format: string, signal: AbortSignal): AsyncIterable<Uint8Array>;
}

const hasParams = (params: Readonly<Record<string, string>>) => Object.keys(params).length > 0;

function sessionAdapter(session: Session): AnalystSession {
  const run = (sql: string, params: Readonly<Record<string, string>>, options: { format: string; signal?: AbortSignal }) =>
    hasParams(params) ? session.queryBindAsync(sql, params, options) : session.queryAsync(sql, options);
  return {
    text: async (sql, params) => (await run(sql, params, { format: 'TSVRaw' })).text(),
    whole: async (sql, params, format, signal) => (await run(sql, params, { format, signal })).bytes(),
    stream: async function* (sql, params, format, signal) {
      const stream = hasParams(params)
        ? session.queryStreamBind(sql, params, { format, signal })
        : session.queryStream(sql, { format, signal });
      for await (const chunk of stream) yield chunk.raw();
    },
  };
}

export class ChdbSessionPool {
  private readonly pool: Pool<Session>;

  constructor(chdbPath: string, size: number) {
    mkdirSync(chdbPath, { recursive: true });
    this.pool = new Pool(
      Array.from({ length: size }, () => new Session(chdbPath)),
      (waitedMs) => new EngineBusy(waitedMs),
    );
  }

  /** Runs `work` on a free session, waiting at most `waitMs` for one. */
  with<T>(waitMs: number, work: (session: AnalystSession) => Promise<T>): Promise<T> {
    return this.pool.with(waitMs, (session) => work(sessionAdapter(session)));
  }

  close(): void {
    for (const session of this.pool.items) session.close();
  }
}
