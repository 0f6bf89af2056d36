import { describe, expect, it } from 'vitest';
import { RecentEventIds } from './recent-event-ids.ts';

const LIMITS = { windowMs: 1000, maxIds: 4 };

describe('RecentEventIds', () => {
  it('recognises a replay, and refuses to judge events at or before what it forgot', () => {
    const seen = RecentEventIds.empty();
    for (let at = 1; at <= 5; at++) seen.remember(`e${at}`, at, LIMITS);
    expect([seen.sighting('e3', 3), seen.sighting('e6', 6), seen.size]).toEqual(['duplicate', 'new', 5]);
    seen.remember('e6', 6, LIMITS); // a quarter over the limit: back down to the 4 newest
    expect({ size: seen.size, json: seen.toJSON() }).toEqual({
      size: 4,
      json: {
        horizon: 2,
        ids: [
          ['e3', 3],
          ['e4', 4],
          ['e5', 5],
          ['e6', 6],
        ],
      },
    });
    expect([seen.sighting('e2', 2), seen.sighting('late', 2), seen.sighting('late', 2.5), seen.sighting('e3', 3)]).toEqual([
      'beyond_horizon',
      'beyond_horizon',
      'new',
      'duplicate',
    ]);
  });

  it('forgets ids outside the event-time window of the newest event', () => {
    const seen = RecentEventIds.fromJSON({
      horizon: null,
      ids: [
        ['a', 100],
        ['b', 1500],
        ['c', 2000],
      ],
    });
    seen.forgetOutsideWindow(2000, LIMITS);
    expect(seen.toJSON()).toEqual({
      horizon: 100,
      ids: [
        ['b', 1500],
        ['c', 2000],
      ],
    });
  });

  it('round-trips through JSON, as through the changelog', () => {
    const seen = RecentEventIds.empty();
    for (let at = 1; at <= 7; at++) seen.remember(`e${at}`, at, LIMITS);
    const restored = RecentEventIds.fromJSON(JSON.parse(JSON.stringify(seen)) as ReturnType<RecentEventIds['toJSON']>);
    expect(restored.toJSON()).toEqual(seen.toJSON());
  });
});
