/**
 * The ClickHouse migrations: `NNN_name.sql` files in this folder, applied in order. Each file is
 * a list of statements ending in `;` at the end of a line. Applied ones are never edited: a change
 * is a new file (the runner refuses a checksum that moved).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

const FOLDER = new URL('./', import.meta.url);

export function journeyMigrations(): Migration[] {
  return readdirSync(FOLDER)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(new URL(file, FOLDER), 'utf8');
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        checksum: createHash('sha256').update(sql).digest('hex'),
        statements: sql
          .split(/;[ \t]*(?:\n|$)/)
          .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
          .filter((statement) => statement.length > 0),
      };
    });
}
