import { describe, expect, it } from 'vitest';
import { ConsistentCut } from './consistent-cut.ts';

const ends = (entries: [number, bigint][]) => () => Promise.resolve(new Map(entries));

describe('ConsistentCut', () => {
  it('releases a watermark only once every partition has been read to where it ended when the watermark was seen', async () => {
    const cut = new ConsistentCut();
    cut.read(0, 10n);
    // Seen on partition 0, while partition 1 still holds KPI records of the transaction that moved it.
    await cut.observe(
      '2026-11-10',
      ends([
        [0, 10n],
        [1, 7n],
      ]),
    );
    expect(cut.released).toBeUndefined();
    cut.read(1, 5n);
    expect(cut.settle()).toBe(false);
    cut.read(1, 7n);
    expect(cut.settle()).toBe(true);
    expect(cut.released).toBe('2026-11-10');
  });

  it('moves on in steps while the watermark keeps moving, never back', async () => {
    const cut = new ConsistentCut();
    await cut.observe('2026-11-10', ends([[0, 5n]]));
    // Still pending: a newer watermark waits until this one is released (no starvation by a moving end).
    await cut.observe('2026-11-11', ends([[0, 9n]]));
    cut.read(0, 5n);
    expect([cut.settle(), cut.released]).toEqual([true, '2026-11-10']);
    await cut.observe('2026-11-12', ends([[0, 9n]]));
    cut.read(0, 9n);
    expect([cut.settle(), cut.released]).toEqual([true, '2026-11-12']);
    await cut.observe('2026-11-11', ends([[0, 20n]]));
    expect(cut.released).toBe('2026-11-12');
  });

  it('counts a partition with nothing in it as read', async () => {
    const cut = new ConsistentCut();
    await cut.observe(
      '2026-11-10',
      ends([
        [0, 0n],
        [1, 0n],
      ]),
    );
    expect(cut.released).toBe('2026-11-10');
  });
});
