import { describe, expect, it } from 'vitest';
import { isRetryableClickHouseError, retryWithBackoff } from './retry.ts';

const clickHouseError = (code: string) => Object.assign(new Error(`Code: ${code}. DB::Exception`), { code });

describe('retryWithBackoff', () => {
  it('retries retryable failures with growing, capped backoff until the attempt succeeds', async () => {
    let calls = 0;
    const waits: number[] = [];
    const value = await retryWithBackoff(
      () => {
        calls++;
        return calls < 4 ? Promise.reject(clickHouseError('252')) : Promise.resolve('inserted');
      },
      { isRetryable: isRetryableClickHouseError, firstBackoffMs: 1, maxBackoffMs: 3, onRetry: (_e, _n, ms) => void waits.push(ms) },
    );
    expect(value).toBe('inserted');
    expect(waits).toEqual([1, 2, 3]);
  });

  it('tells TOO_MANY_PARTS of a busy table (retry) from a block spanning too many partitions (never)', () => {
    const tooManyParts = (message: string) =>
      Object.assign(new Error(`Code: 252. DB::Exception: ${message}. (TOO_MANY_PARTS)`), { code: '252' });
    expect([
      isRetryableClickHouseError(
        tooManyParts(
          'Too many parts (300 with average size of 1.00 KiB) in table. Merges are processing significantly slower than inserts',
        ),
      ),
      isRetryableClickHouseError(tooManyParts('Too many partitions for single INSERT block (more than 100)')),
    ]).toEqual([true, false]);
  });

  it('gives up at once on an error no retry can fix', async () => {
    let calls = 0;
    const attempt = () => {
      calls++;
      return Promise.reject(clickHouseError('60'));
    };
    await expect(
      retryWithBackoff(attempt, { isRetryable: isRetryableClickHouseError, firstBackoffMs: 1, maxBackoffMs: 1 }),
    ).rejects.toThrow('Code: 60');
    expect(calls).toBe(1);
  });

  it('stops after the given number of attempts, with the last error', async () => {
    let calls = 0;
    const attempt = () => {
      calls++;
      return Promise.reject(clickHouseError('241'));
    };
    await expect(
      retryWithBackoff(attempt, { isRetryable: isRetryableClickHouseError, firstBackoffMs: 1, maxBackoffMs: 1, attempts: 3 }),
    ).rejects.toThrow('Code: 241');
    expect(calls).toBe(3);
  });

  it('classifies ClickHouse codes and socket failures', () => {
    expect(isRetryableClickHouseError(clickHouseError('241'))).toBe(true);
    expect(isRetryableClickHouseError(clickHouseError('62'))).toBe(false);
    expect(isRetryableClickHouseError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isRetryableClickHouseError(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }))).toBe(
      true,
    );
    expect(isRetryableClickHouseError('not an error')).toBe(false);
  });
});
