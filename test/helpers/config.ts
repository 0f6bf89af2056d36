import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../services/common/config.ts';

/** A name no other test (or earlier run) has used: for topics, groups, subjects, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/**
 * Config pointing at the stack global-setup acquired, with this test's own topic prefix and (for
 * embedded ClickHouse) its own chDB directory, so tests never see each other's data.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    ...inject('stackEnv'),
    TOPIC_PREFIX: `${uniqueName('t')}.`,
    CHDB_PATH: mkdtempSync(path.join(tmpdir(), 'journeyline-chdb-')),
    ...overrides,
  });
}
