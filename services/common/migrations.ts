/**
 * Applies ordered, versioned ClickHouse migrations once each, idempotently: statements are written
 * `IF NOT EXISTS`, and the record of an applied version is inserted with a deduplication token, so
 * two processes starting together (or a crash between a statement and its record) leave one
 * record and the same schema. A repeatable migration (the views) is applied after them whenever
 * its checksum differs from the one recorded; its statements are `CREATE OR REPLACE`.
 */
import type { Migration } from '../../schemas/clickhouse/migrations.ts';
import { clickHouseTime, insertRows, type ClickHouseClient } from './clickhouse.ts';

export type { Migration };

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

export class MigrationError extends Error {}

const LEDGER = 'journey.schema_migrations';

export async function migrate(clickhouse: ClickHouseClient, migrations: readonly Migration[]): Promise<MigrationReport> {
  await clickhouse.command({ query: 'CREATE DATABASE IF NOT EXISTS journey' });
  await clickhouse.command({
    query: `CREATE TABLE IF NOT EXISTS ${LEDGER} (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC'))
            ENGINE = ReplacingMergeTree ORDER BY version SETTINGS non_replicated_deduplication_window = 1000`,
  });
  const result = await clickhouse.query({ query: `SELECT version, checksum FROM ${LEDGER} FINAL`, format: 'JSONEachRow' });
  const done = new Map((await result.json<{ version: number; checksum: string }>()).map((r) => [r.version, r.checksum]));
  const applied: string[] = [];
  // Numbered migrations in order, then the repeatable ones (the views), which read what they made.
  const ordered = [...migrations].sort((a, b) => Number(a.repeatable) - Number(b.repeatable) || a.version - b.version);
  for (const migration of ordered) {
    const label = migration.repeatable ? migration.name : `${String(migration.version).padStart(3, '0')}_${migration.name}`;
    const recorded = done.get(migration.version);
    if (recorded === migration.checksum) continue;
    if (recorded !== undefined && !migration.repeatable) {
      throw new MigrationError(
        `migration ${label} changed after it was applied (checksum ${recorded.slice(0, 12)} → ${migration.checksum.slice(0, 12)}); add a new migration instead`,
      );
    }
    for (const statement of migration.statements) {
      try {
        await clickhouse.command({ query: statement });
      } catch (error: unknown) {
        throw new MigrationError(
          `migration ${label} failed: ${error instanceof Error ? error.message : String(error)}\n  in: ${statement.slice(0, 200)}`,
        );
      }
    }
    await insertRows(
      clickhouse,
      LEDGER,
      [{ version: migration.version, name: migration.name, checksum: migration.checksum, applied_at: clickHouseTime(Date.now()) }],
      `migration:${migration.version}:${migration.checksum}`,
    );
    applied.push(label);
  }
  return { applied, alreadyApplied: migrations.length - applied.length };
}
