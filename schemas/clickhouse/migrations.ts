/**
 * The ClickHouse migrations: `NNN_name.sql` files in this folder, applied in order, then
 * `views.sql`. Each file is a list of statements ending in `;` at the end of a line. Applied
 * numbered ones are never edited: a change is a new file (the runner refuses a checksum that
 * moved). `views.sql` is the other kind: the views, defined once and edited in place, applied
 * again whenever its text changes, so a KPI is not copied into every migration that touches it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
  /** Applied after every numbered migration, and again whenever its checksum changes. */
  readonly repeatable: boolean;
}

const FOLDER = new URL('./', import.meta.url);

/**
 * Views that take parameters (views.sql), called like table functions, e.g.
 * `journey.channel_kpis_daily(time_zone = 'UTC')`: the read-only query path lets these through.
 */
export const PARAMETERIZED_VIEWS: readonly string[] = ['journey.channel_kpis_daily'];

/** The ledger's version of `views.sql`: after every numbered migration there can be. */
export const VIEWS_VERSION = 1_000_000;

function migrationOf(file: string, version: number, name: string, repeatable: boolean): Migration {
  const sql = readFileSync(new URL(file, FOLDER), 'utf8');
  return {
    version,
    name,
    checksum: createHash('sha256').update(sql).digest('hex'),
    statements: sql
      .split(/;[ \t]*(?:\n|$)/)
      .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
      .filter((statement) => statement.length > 0),
    repeatable,
  };
}

export function journeyMigrations(): Migration[] {
  const numbered = readdirSync(FOLDER)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => migrationOf(file, Number(file.slice(0, 3)), file.slice(4, -4), false));
  return [...numbered, migrationOf('views.sql', VIEWS_VERSION, 'views', true)];
}
