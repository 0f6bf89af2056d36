import { describe, expect, it } from 'vitest';
import { Pool } from './pool.ts';

class Busy extends Error {}

describe('Pool', () => {
  it('lends each item to one caller at a time; a caller waits for one to come back', async () => {
    const pool = new Pool(['a', 'b'], () => new Busy());
    const holding = new Set<string>();
    let most = 0;
    const work = (item: string) =>
      new Promise<string>((resolve) => {
        expect(holding.has(item)).toBe(false);
        holding.add(item);
        most = Math.max(most, holding.size);
        setTimeout(() => {
          holding.delete(item);
          resolve(item);
        }, 5);
      });
    const used = await Promise.all(Array.from({ length: 6 }, () => pool.with(1000, work)));
    expect(most).toBe(2);
    expect(new Set(used)).toEqual(new Set(['a', 'b']));
  });

  it("gives the pool's busy error after the deadline, and the item still comes back to the next caller", async () => {
    const pool = new Pool(['only'], (waitedMs) => new Busy(`busy for ${waitedMs} ms`));
    let release = () => {};
    const held = pool.with(1000, () => new Promise<void>((resolve) => (release = resolve)));
    await expect(pool.with(20, () => Promise.resolve())).rejects.toThrow('busy for 20 ms');
    release();
    await held;
    await expect(pool.with(20, (item) => Promise.resolve(item))).resolves.toBe('only');
  });

  it('takes an item back when the work fails', async () => {
    const pool = new Pool(['only'], () => new Busy());
    await expect(pool.with(20, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.with(20, (item) => Promise.resolve(item))).resolves.toBe('only');
  });
});
