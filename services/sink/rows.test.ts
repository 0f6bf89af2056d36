import { describe, expect, it } from 'vitest';
import { lastPerKey } from './rows.ts';

describe('lastPerKey', () => {
  it('keeps the last record of each key, in block order, and nothing else', () => {
    const block = [
      { key: 'smb|2026-12-04|0', revision: 1 },
      { key: '*|2026-12-04|0', revision: 1 },
      { key: 'smb|2026-12-04|0', revision: 2 },
      { key: 'smb|2026-12-05|0', revision: 1 },
      { key: '*|2026-12-04|0', revision: 2 },
    ];
    expect(lastPerKey(block, (r) => r.key)).toEqual([
      { key: 'smb|2026-12-04|0', revision: 2 },
      { key: 'smb|2026-12-05|0', revision: 1 },
      { key: '*|2026-12-04|0', revision: 2 },
    ]);
    expect(lastPerKey([], (r: { key: string }) => r.key)).toEqual([]);
  });
});
