import { describe, expect, it } from 'vitest';
import { deduplicationToken, intentMetadata, parseIntent, planBlock } from './blocks.ts';

describe('sink blocks', () => {
  it('round-trips the intent through offset metadata, and ignores foreign metadata', () => {
    expect(parseIntent(intentMetadata({ from: 10n, to: 42n }))).toEqual({ from: 10n, to: 42n });
    expect(parseIntent(null)).toBeNull();
    expect(parseIntent('')).toBeNull();
    expect(parseIntent('someone else: 1-2')).toBeNull();
  });

  it('takes the whole batch from the committed position when no intent is pending', () => {
    expect(planBlock(100n, 103n, 180n, null)).toEqual({ kind: 'insert', range: { from: 100n, to: 180n }, replay: false });
    expect(planBlock(null, 0n, 9n, null)).toEqual({ kind: 'insert', range: { from: 0n, to: 9n }, replay: false });
  });

  it('rebuilds exactly the pending range after a crash, whatever the new fetch returned', () => {
    const intent = { from: 100n, to: 150n };
    expect(planBlock(100n, 100n, 400n, intent)).toEqual({ kind: 'insert', range: intent, replay: true });
    expect(planBlock(100n, 100n, 120n, intent)).toEqual({ kind: 'wait_for_rest', range: intent });
  });

  it('ignores an intent that does not start at the committed position (already done)', () => {
    expect(planBlock(151n, 151n, 160n, { from: 100n, to: 150n })).toEqual({
      kind: 'insert',
      range: { from: 151n, to: 160n },
      replay: false,
    });
  });

  it('derives the token from cluster, topic, partition and range', () => {
    expect(deduplicationToken('c1', 'journey.events', 3, { from: 5n, to: 9n })).toBe('c1/journey.events/3/5-9');
    expect(deduplicationToken('c2', 'journey.events', 3, { from: 5n, to: 9n })).not.toBe(
      deduplicationToken('c1', 'journey.events', 3, { from: 5n, to: 9n }),
    );
  });
});
