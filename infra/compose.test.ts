import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  it('publishes every port on loopback unless PUBLISH_HOST says otherwise', () => {
    const published = [...compose.matchAll(/^\s+ports:\s*\[(.*)\]\s*$/gm)].flatMap((m) =>
      (m[1] ?? '').split(',').map((p) => p.trim().replace(/^['"]|['"]$/g, '')),
    );
    expect(published.length).toBeGreaterThanOrEqual(4);
    for (const port of published) expect(port).toMatch(/^\$\{PUBLISH_HOST:-127\.0\.0\.1\}:\d+:\d+$/);
  });
});
