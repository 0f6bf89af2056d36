/**
 * The one place that decides how we reach ClickHouse: a server over HTTP when CLICKHOUSE_URL is
 * set, else the embedded engine (chDB) in this process. Everything above sees one
 * `@clickhouse/client` either way, so SQL and query parameters behave identically.
 *
 * SQL always names tables with their database (`journey.events`): chDB's connection ignores the
 * client's default-database setting, and explicit names read better in analysts' docs anyway.
 */
import { mkdirSync } from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from './config.ts';

export type { ClickHouseClient };

/**
 * Settings pinned so both modes answer alike: the server quotes 64-bit integers in JSON by
 * default (they do not fit a JS number), chDB does not unless told.
 */
const SAME_IN_BOTH_MODES = { output_format_json_quote_64bit_integers: 1 } as const;

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export function createClickHouse(clickhouse: Config['clickhouse']): ClickHouseClient {
  if (clickhouse.url !== undefined) {
    return createClient({
      url: clickhouse.url,
      username: clickhouse.username,
      password: clickhouse.password,
      clickhouse_settings: SAME_IN_BOTH_MODES,
    });
  }
  // chDB binds one data directory per process; every client in this process shares it.
  mkdirSync(clickhouse.chdbPath, { recursive: true });
  // chdb declares its Connection against the standalone @clickhouse/client-common package while the
  // client bundles its own copy of those types: one shape, two declarations, hence the cast.
  const connection = createChdbConnection({ path: clickhouse.chdbPath }) as unknown as ClientConnection;
  return createClient({ connection, clickhouse_settings: SAME_IN_BOTH_MODES });
}

/**
 * Clients for `count` inserts at once, `main` among them, and how to close the ones made here. A
 * server takes concurrent inserts on one client, each its own HTTP request. On chDB each concurrent
 * insert gets a session of its own, as a server's requests would (and as a guard: chDB applies
 * a client's per-query settings as session `SET`s); sessions on one directory coexist.
 */
export function insertClientsFor(
  clickhouse: Config['clickhouse'],
  main: ClickHouseClient,
  count: number,
): { readonly clients: readonly ClickHouseClient[]; close(): Promise<void> } {
  if (clickhouse.url !== undefined) return { clients: Array.from({ length: count }, () => main), close: () => Promise.resolve() };
  const made = Array.from({ length: count - 1 }, () => createClickHouse(clickhouse));
  return {
    clients: [main, ...made],
    close: async () => {
      await Promise.all(made.map((client) => client.close()));
    },
  };
}

export function clickHouseMode(clickhouse: Config['clickhouse']): 'server' | 'embedded' {
  return clickhouse.url === undefined ? 'embedded' : 'server';
}

/**
 * Inserts rows as one block carrying `deduplicationToken`: a table with a deduplication window
 * drops a block whose token it has seen, so a retried or replayed insert lands once. Every insert
 * goes through here with a token of its own.
 *
 * The settings are written into the INSERT statement (`INSERT INTO t SETTINGS … FORMAT …`), where
 * ClickHouse scopes them to that one query, instead of as the client's per-query settings, which
 * chDB applies as its session's `SET`s: each `SET` is a statement of its own on every insert, and
 * a token left behind in a session would silently drop the next block.
 *
 * A block may span any number of partitions (months): one Kafka fetch of a backfill can hold
 * events of years, and refusing it (TOO_MANY_PARTS, after 100) would stop its partition for good.
 * ClickHouse splits the block by partition and gives each part the token with its index, so a
 * replay is still recognised part by part.
 */
export async function insertRows(
  clickhouse: ClickHouseClient,
  table: string,
  rows: readonly object[],
  deduplicationToken: string,
): Promise<void> {
  if (rows.length === 0) return;
  const settings = `insert_deduplication_token = ${stringLiteral(deduplicationToken)}, insert_deduplicate = 1, max_partitions_per_insert_block = 0`;
  await clickhouse.insert({
    // The client writes `INSERT INTO ${table} FORMAT …`: the table's SETTINGS clause rides in its place.
    table: `${table} SETTINGS ${settings}`,
    values: rows,
    format: 'JSONEachRow',
  });
}

/** A ClickHouse string literal of any text. */
const stringLiteral = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Epoch ms → the text ClickHouse reads into DateTime64(3, 'UTC'). */
export function clickHouseTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
