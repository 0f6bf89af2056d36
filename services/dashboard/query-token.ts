/**
 * The query endpoint's tokens: QUERY_API_KEYS when set; otherwise one made for this run and
 * written, readable by its owner only, to QUERY_TOKEN_FILE, where `journey sql` finds it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../common/config.ts';

export function queryTokensFor(settings: Config['query']): { tokens: readonly string[]; source: string } {
  if (settings.apiKeys.length > 0) return { tokens: settings.apiKeys, source: 'QUERY_API_KEYS' };
  const token = `dev-${randomBytes(24).toString('hex')}`;
  mkdirSync(path.dirname(settings.tokenFile), { recursive: true });
  writeFileSync(settings.tokenFile, `${token}\n`, { mode: 0o600 });
  return { tokens: [token], source: `made for this run, in ${settings.tokenFile} (set QUERY_API_KEYS to choose your own)` };
}

/** The token a client of the running product presents, or undefined when there is none to be had. */
export function queryTokenOf(settings: Config['query']): string | undefined {
  if (settings.apiKeys[0] !== undefined) return settings.apiKeys[0];
  try {
    return readFileSync(settings.tokenFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
