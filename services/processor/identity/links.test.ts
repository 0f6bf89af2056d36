import { describe, expect, it } from 'vitest';
import { homeKeyOf, MAX_CONFLICTS_KEPT, routeEvent, type AnonymousLink } from './links.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const NONE = new Set<string>();
let serial = 0;
const event = (customer_id: string | null, anonymous_id: string | null) =>
  journeyEvent('page_view', { at: Date.parse('2026-11-24T08:00:00Z') + serial, n: ++serial, customer_id, anonymous_id });

describe('routeEvent', () => {
  it('keeps an unlinked visitor anonymous, and links on the first event with both ids', () => {
    expect(routeEvent(event(null, 'دستگاه-۷'), undefined, NONE)).toEqual({ kind: 'forward', key: 'anon:دستگاه-۷' });
    const linking = event('مریم', 'دستگاه-۷');
    expect(routeEvent(linking, undefined, NONE)).toEqual({
      kind: 'link',
      key: 'مریم',
      anonymousId: 'دستگاه-۷',
      link: { customer_id: 'مریم', at: linking.occurred_at, event_id: linking.event_id, conflicts: [] },
    });
  });

  it('sends every later event of a linked id to its customer, the late anonymous one too', () => {
    const link: AnonymousLink = { customer_id: 'مریم', at: 0, event_id: 'e', conflicts: [] };
    expect(routeEvent(event(null, 'دستگاه-۷'), link, NONE)).toEqual({ kind: 'forward', key: 'مریم' });
    expect(routeEvent(event('مریم', 'دستگاه-۷'), link, NONE)).toEqual({ kind: 'forward', key: 'مریم' });
  });

  it('records a second customer on a shared device once, never merges it, and keeps its events its own', () => {
    const link: AnonymousLink = { customer_id: 'مریم', at: 0, event_id: 'e', conflicts: [] };
    const second = routeEvent(event('علی', 'دستگاه-۷'), link, NONE);
    expect(second).toMatchObject({ kind: 'conflict', key: 'علی', link: { customer_id: 'مریم', conflicts: ['علی'] } });
    const after = second.kind === 'conflict' ? second.link : link;
    expect(routeEvent(event('علی', 'دستگاه-۷'), after, NONE)).toEqual({ kind: 'forward', key: 'علی' });
    const full = { ...link, conflicts: Array.from({ length: MAX_CONFLICTS_KEPT }, (_, i) => `c${i}`) };
    expect(routeEvent(event('another', 'دستگاه-۷'), full, NONE)).toEqual({ kind: 'forward', key: 'another' });
  });

  it('never links a junk id, built in or configured, in any case', () => {
    for (const junk of ['null', 'undefined', 'UNDEFINED', '0', '[object Object]', 'bot-ids-here']) {
      expect(routeEvent(event('مریم', junk), undefined, new Set(['bot-ids-here']))).toEqual({ kind: 'forward', key: 'مریم' });
    }
    expect(routeEvent(event(null, 'null'), undefined, NONE)).toEqual({ kind: 'forward', key: 'anon:null' });
  });
});

describe('homeKeyOf', () => {
  it("is the anonymous id's key when the event's routing reads its link, and nothing for no id or a junk one", () => {
    expect(homeKeyOf(event('مریم', 'دستگاه-۷'), NONE)).toBe('anon:دستگاه-۷');
    expect(homeKeyOf(event(null, 'دستگاه-۷'), NONE)).toBe('anon:دستگاه-۷');
    expect(homeKeyOf(event('مریم', null), NONE)).toBeNull();
    expect(homeKeyOf(event('مریم', 'Undefined'), NONE)).toBeNull();
    expect(homeKeyOf(event('مریم', 'bot-ids-here'), new Set(['bot-ids-here']))).toBeNull();
  });
});
