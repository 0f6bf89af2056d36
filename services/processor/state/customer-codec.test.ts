import { describe, expect, it } from 'vitest';
import type { CustomerState } from '../rules/customer.ts';
import { NEW_CUSTOMER } from '../rules/stage.ts';
import { packCustomer, unpackCustomer, type StoredCustomer } from './customer-codec.ts';
import { RecentEventIds } from './recent-event-ids.ts';

const at = (iso: string) => Date.parse(iso);
const customer: CustomerState = {
  customerId: 'مریم-۴۲',
  stage: {
    evidence: {
      ...NEW_CUSTOMER.evidence,
      pageViews: 3,
      pageViewSessions: ['s1', 's2'],
      firstFormAt: { demo_request: at('2026-11-20T10:00:00Z') },
      purchases: 1,
      firstPurchaseAt: at('2026-11-21T10:00:00Z'),
      lastEventAt: at('2026-11-22T10:00:00Z'),
    },
    stage: 'conversion',
    stageSince: at('2026-11-21T10:00:00Z'),
  },
  firstSeenAt: at('2026-11-20T09:00:00Z'),
  lastSeenAt: at('2026-11-22T10:00:00Z'),
  segment: { value: 'smb', at: at('2026-11-22T10:00:00Z'), event_id: 'e3' },
  pageViews: 3,
  formsSubmitted: 1,
  purchases: 1,
  revenueMinor: '12345678901234567890',
  revenueByCurrency: { IRR: '12345678901234567890' },
  lastNps: { value: 9, at: at('2026-11-22T10:00:00Z'), event_id: 'e3' },
  lastCsat: null,
  lastCes: { value: 2500, at: at('2026-11-22T10:00:00Z'), event_id: 'e4' },
  referralSource: { value: 'اینستاگرام', at: at('2026-11-20T10:00:00Z'), event_id: 'e1' },
  anonymousIds: 3,
};
const stored: StoredCustomer = {
  customer,
  track: {
    marks: {
      'smb|2026-11-21': { visitor: true, buyer: true, orders: 2, sessions: ['s2'], timedSessions: [] },
      '*|2026-11-22': { converted: true },
    },
    earliestPurchases: [at('2026-11-21T10:00:00Z')],
    cycle: { key: 'smb|2026-11-21', days: 1.0416 },
    checkouts: {
      signals: [[at('2026-11-21T09:50:00Z'), 'smb']],
      purchases: [at('2026-11-21T10:00:00Z')],
      absorbedUntil: null,
      counted: { 'smb|2026-11-21': [1, 1] },
    },
    reached: { discovery: 'smb|2026-11-20', consideration: 'smb|2026-11-20', conversion: 'smb|2026-11-21' },
  },
  seen: RecentEventIds.fromJSON({ horizon: at('2026-10-01T00:00:00Z'), ids: [['e1', at('2026-11-20T10:00:00Z')]] }),
};

const noJson = () => {
  throw new Error('not JSON');
};

describe('a customer at rest', () => {
  it('comes back exactly as it was packed, absent fields absent', () => {
    const back = unpackCustomer(packCustomer(stored), noJson);
    expect(JSON.parse(JSON.stringify(back))).toStrictEqual(JSON.parse(JSON.stringify(stored)));
    expect(back.track.marks['*|2026-11-22']).toStrictEqual({ converted: true });
    const { checkouts: _checkouts, reached: _reached, ...without } = stored.track;
    const bare = unpackCustomer(packCustomer({ ...stored, track: without }), noJson).track;
    expect(bare).not.toHaveProperty('checkouts');
    expect(bare).not.toHaveProperty('reached');
  });

  it('is a fraction of its JSON', () => {
    expect(packCustomer(stored).length).toBeLessThan(JSON.stringify(stored).length / 2);
  });

  it('reads the JSON of changelog records written before it, and refuses a format it does not know', () => {
    expect(unpackCustomer(Buffer.from(JSON.stringify(stored)), () => stored)).toBe(stored);
    expect(() => unpackCustomer(Buffer.of(9, 0), noJson)).toThrow('customer state of unknown format 9');
  });

  it('reads the bytes of version 1, from before anonymous ids were merged, as none merged', () => {
    // packCustomer of a one-page-view customer at 7c42b85.
    const version1 = 'ARDZhdix24zZhQIAAAAAAAAAAAICABJkaXNjb3ZlcnkCAgICAAIAAAIwAAAAAAACHHNtYnwyMDI2LTExLTIxAQAAAAAAAAAAAAAAAAIEZTECAA==';
    const back = unpackCustomer(Buffer.from(version1, 'base64'), noJson);
    expect(back.customer).toMatchObject({ customerId: 'مریم', pageViews: 1, anonymousIds: 0, stage: { stage: 'discovery' } });
    expect(back.track.marks).toStrictEqual({ 'smb|2026-11-21': { visitor: true } });
    expect(back.seen.toJSON()).toStrictEqual({ horizon: null, ids: [['e1', 1]] });
  });

  it('reads the bytes of version 2, from before stages were kept where they were reached, as none kept', () => {
    // packCustomer of a one-page-view customer at 8effe16.
    const version2 =
      'AhDZhdix24zZhQIAAAAAAAAAAAKApOPYv2gAEmRpc2NvdmVyeQKApOPYv2iApOPYv2iApOPYv2gCBnNtYoCk49i/aARlMQIAAAIwAAAAAAAABBxzbWJ8MjAyNi0xMS0yMQEAAAAAAAAAGCp8MjAyNi0xMS0yMQEAAAAAAAAAAAAAAAACBGUxgKTj2L9oAA==';
    const back = unpackCustomer(Buffer.from(version2, 'base64'), noJson);
    expect(back.customer).toMatchObject({ customerId: 'مریم', pageViews: 1, anonymousIds: 0, stage: { stage: 'discovery' } });
    expect(back.track.marks).toStrictEqual({ 'smb|2026-11-21': { visitor: true }, '*|2026-11-21': { visitor: true } });
    expect(back.track).not.toHaveProperty('reached');
  });
});
