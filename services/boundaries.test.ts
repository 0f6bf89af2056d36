/**
 * The layer lines of shared/ARCHITECTURE.md, checked rather than hoped for:
 * - processor/rules is pure: no Kafka, HTTP, ClickHouse or file system;
 * - common/ sits at the bottom: it imports no service and no schema file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVICES = import.meta.dirname;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '');
}

function offending(dir: string, isForbidden: (specifier: string, file: string) => boolean): string[] {
  return sourcesUnder(dir).flatMap((file) =>
    importsOf(file)
      .filter((specifier) => isForbidden(specifier, file))
      .map((specifier) => `${path.relative(SERVICES, file)} imports ${specifier}`),
  );
}

describe('layer boundaries', () => {
  it('processor/rules imports no I/O', () => {
    const io = /^(kafkajs|@kafkajs\/|@clickhouse\/|chdb|node:(http|https|net|fs|child_process)|undici)/;
    expect(offending(path.join(SERVICES, 'processor', 'rules'), (s) => io.test(s))).toEqual([]);
  });

  it('common/ imports no service and no schema', () => {
    const upward = (specifier: string, file: string) => {
      if (!specifier.startsWith('.')) return false;
      const target = path.resolve(path.dirname(file), specifier);
      return !target.startsWith(path.join(SERVICES, 'common') + path.sep);
    };
    expect(offending(path.join(SERVICES, 'common'), upward)).toEqual([]);
  });
});
