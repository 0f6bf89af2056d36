/**
 * The lines of docs/architecture.md, checked rather than hoped for. Floors, lowest first:
 *   schemas/ (contracts) → services/common/ (adapters) → the services → services/cli/ → infra/
 * A file imports only from its own floor or below; services import no other service's internals
 * (producer/ is the library the collector is built on); nothing loads infra/ statically but infra/
 * (the CLI loads it where a stack is acquired, so a production image can leave it out); and
 * processor/rules is pure: no Kafka, HTTP, ClickHouse or file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : sourcesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Static imports and re-exports only: a dynamic import() is how a floor loads a higher one on purpose. */
export function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '');
}

/** The floor of a repository path, and the service it belongs to (for services/<name>/). */
export function placeOf(relative: string): { floor: number; service?: string | undefined } | undefined {
  const parts = relative.split(path.sep);
  if (parts[0] === 'schemas') return { floor: 0 };
  if (parts[0] === 'infra') return { floor: 4 };
  if (parts[0] !== 'services' || parts.length < 3) return undefined;
  if (parts[1] === 'common') return { floor: 1 };
  if (parts[1] === 'cli') return { floor: 3 };
  return { floor: 2, service: parts[1] };
}

const FLOOR_NAMES = ['schemas', 'services/common', 'a service', 'services/cli', 'infra'];
/** Services other services may build on: libraries, not deployables with internals. */
const LIBRARIES: ReadonlySet<string> = new Set(['producer', 'sentiment']);

/** Why `from` may not import `to` (repository-relative paths), or undefined when it may. */
export function violation(from: string, to: string): string | undefined {
  const source = placeOf(from);
  const target = placeOf(to);
  if (source === undefined || target === undefined) return undefined;
  if (target.floor > source.floor) return `${FLOOR_NAMES[source.floor] ?? ''} may not import ${FLOOR_NAMES[target.floor] ?? ''}`;
  if (source.floor === 2 && target.floor === 2 && source.service !== target.service && !LIBRARIES.has(target.service ?? '')) {
    return `services talk through Kafka, not through ${target.service ?? ''}'s internals`;
  }
  return undefined;
}

function offending(dirs: readonly string[], check: (from: string, specifier: string) => string | undefined): string[] {
  return dirs.flatMap((dir) =>
    sourcesUnder(path.join(ROOT, dir)).flatMap((file) =>
      importsOf(readFileSync(file, 'utf8')).flatMap((specifier) => {
        const problem = check(path.relative(ROOT, file), specifier);
        return problem === undefined ? [] : [`${path.relative(ROOT, file)} imports ${specifier}: ${problem}`];
      }),
    ),
  );
}

describe('layer boundaries', () => {
  it('every import points down the floors, and no service reaches into another', () => {
    const upward = (from: string, specifier: string) =>
      specifier.startsWith('.') ? violation(from, path.relative(ROOT, path.resolve(ROOT, path.dirname(from), specifier))) : undefined;
    expect(offending(['schemas', 'services', 'infra'], upward)).toEqual([]);
  });

  it('nothing depends on testcontainers but infra/, which only development loads', () => {
    const containers = (from: string, specifier: string) =>
      specifier === 'testcontainers' && !from.startsWith('infra') ? 'testcontainers is a development dependency' : undefined;
    expect(offending(['schemas', 'services'], containers)).toEqual([]);
  });

  it('processor/rules and alert detection import no I/O', () => {
    const io = /^(kafkajs|@kafkajs\/|@clickhouse\/|chdb|node:(http|https|net|fs|child_process)|undici)/;
    const pure = (_from: string, specifier: string) => (io.test(specifier) ? 'rules are pure' : undefined);
    expect(offending(['services/processor/rules'], pure)).toEqual([]);
    const detection = ['services/alerts/detection.ts', 'services/alerts/signals.ts', 'services/alerts/segment-alerts.ts'];
    expect(offending(['services/alerts'], (from, specifier) => (detection.includes(from) ? pure(from, specifier) : undefined))).toEqual([]);
  });

  it('catches a wrong import (the check itself is checked)', () => {
    expect([
      violation('schemas/topics.ts', 'services/common/kafka.ts'),
      violation('services/common/kafka.ts', 'services/sink/sink.ts'),
      violation('services/sink/sink.ts', 'services/processor/processor.ts'),
      violation('services/cli/journey.ts', 'infra/stack/acquire.ts'),
      violation('services/collector/run.ts', 'services/producer/event-producer.ts'),
      violation('services/common/dead-letter.ts', 'schemas/topics.ts'),
      violation('infra/stack/acquire.ts', 'services/common/config.ts'),
    ]).toEqual([
      'schemas may not import services/common',
      'services/common may not import a service',
      "services talk through Kafka, not through processor's internals",
      'services/cli may not import infra',
      undefined,
      undefined,
      undefined,
    ]);
    expect(importsOf("import { a } from './a.ts';\nexport { b } from '../b.ts';\nconst c = await import('../../infra/c.ts');")).toEqual([
      './a.ts',
      '../b.ts',
    ]);
  });
});
