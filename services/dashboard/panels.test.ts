import { describe, expect, it } from 'vitest';
import { alertsOf, funnelOf, KPI_FIELDS, kpisOf, metaOf, parsePanelRequest, rangeParams } from './panels.ts';

const query = (text: string) => new URLSearchParams(text);

describe('panel requests', () => {
  it('defaults to every segment, daily, all days', () => {
    const request = parsePanelRequest(query(''));
    expect(request).toEqual({ segment: '*', window: '1' });
    expect(rangeParams(request as never)).toEqual({ from: '1970-01-01', to: '2299-12-31' });
  });

  it('takes a Persian segment name as it is', () => {
    expect(parsePanelRequest(query('segment=فروشگاه-تهران&window=30&from=2026-10-01&to=2026-11-01'))).toEqual({
      segment: 'فروشگاه-تهران',
      window: '30',
      from: '2026-10-01',
      to: '2026-11-01',
    });
  });

  it.each([
    ['window=14', /^window: must be one of 1, 7, 30/],
    ['from=2026-13-45', /^from: is not a calendar day/],
    ['to=yesterday', /^to: must be a day, YYYY-MM-DD/],
    ['from=2026-11-02&to=2026-11-01', /^from: must not be after to/],
    ['segment=a%00b', /^segment: has control characters/],
    [`segment=${'x'.repeat(201)}`, /^segment: is longer than 200/],
  ])('names the field that is wrong: %s', (text, error) => {
    const request = parsePanelRequest(query(text));
    expect('error' in request && request.error).toMatch(error);
  });
});

describe('funnel', () => {
  // Ten customers: 2 still in discovery, 3 in consideration, 1 converted, 4 engaged (one of whom
  // bought on the first visit and so passed discovery and consideration at once).
  const row = {
    customers: '10',
    reached_1: '10',
    at_stage_1: '0',
    reached_2: '10',
    at_stage_2: '2',
    reached_3: '8',
    at_stage_3: '3',
    reached_4: '5',
    at_stage_4: '1',
    reached_5: '4',
    at_stage_5: '4',
    median_s_2: 0,
    median_s_3: 3600,
    median_s_4: 86400,
    median_s_5: 0,
    stuck: '2',
  };

  it('counts a customer at a stage in every earlier one, and converts between steps', () => {
    const funnel = funnelOf(row, 14);
    expect(funnel.customers).toBe(10);
    expect(funnel.steps.map((s) => [s.stage, s.reached, s.current, s.pctOfPrevious, s.pctOfCohort])).toEqual([
      ['unaware', 10, 0, null, 100],
      ['discovery', 10, 2, 100, 100],
      ['consideration', 8, 3, 80, 80],
      ['conversion', 5, 1, 62.5, 50],
      ['ongoing_engagement', 4, 4, 80, 40],
    ]);
    expect(funnel.steps.map((s) => s.medianSecondsFromPrevious)).toEqual([null, 0, 3600, 86400, 0]);
    expect(funnel).toMatchObject({ stuckInConsideration: 2, stuckAfterDays: 14 });
  });

  it('has no median or step conversion where nobody reached the step before', () => {
    const funnel = funnelOf({ customers: '0' }, 14);
    expect(funnel.steps.every((s) => s.reached === 0 && s.medianSecondsFromPrevious === null && s.pctOfCohort === null)).toBe(true);
    expect(funnel.steps[1]?.pctOfPrevious).toBeNull();
  });
});

describe('rows as ClickHouse writes them', () => {
  const kpiRow = (values: Record<string, unknown>) => ({
    day: '2026-11-24',
    ...Object.fromEntries(KPI_FIELDS.map((f) => [f, null])),
    revenue_by_currency: {},
    aov_by_currency: {},
    ...values,
  });

  it('reads quoted 64-bit integers, decimals and NULLs', () => {
    const [day] = kpisOf([
      kpiRow({ visitors: '120', revenue: 1234.5, conversion_rate_pct: null, nps: '-12.5', aov_by_currency: { IRR: '2500000' } }),
    ]);
    expect(day).toMatchObject({
      day: '2026-11-24',
      visitors: 120,
      revenue: 1234.5,
      conversion_rate_pct: null,
      nps: -12.5,
      aov_by_currency: { IRR: 2_500_000 },
    });
  });

  it('refuses a row that is not a number where one belongs', () => {
    expect(() => kpisOf([kpiRow({ visitors: 'many' })])).toThrow(/visitors/);
  });

  it('puts the segment of all segments first and takes its days', () => {
    const meta = metaOf(
      [
        { segment: '*', first_day: '2026-10-01', last_day: '2026-11-24', time_zone: 'Asia/Tehran' },
        { segment: 'smb', first_day: '2026-10-02', last_day: '2026-11-24', time_zone: 'Asia/Tehran' },
      ],
      'UTC',
    );
    expect(meta).toEqual({ segments: ['*', 'smb'], firstDay: '2026-10-01', lastDay: '2026-11-24', timeZone: 'Asia/Tehran' });
    expect(metaOf([], 'UTC')).toEqual({ segments: [], firstDay: null, lastDay: null, timeZone: 'UTC' });
  });

  it('counts the customers at risk beyond the ones listed', () => {
    const panel = alertsOf(
      [],
      [
        {
          customer_id: 'c1',
          segment: 'smb',
          reasons: ['nps_detractor'],
          at: '2026-11-20 10:00:00.000',
          score: 3,
          comment: null,
          revenue: 10,
          revenue_by_currency: { EUR: 10 },
          orders: '1',
          signals: ['detractor_share'],
          total: '73',
        },
      ],
    );
    expect(panel.atRiskTotal).toBe(73);
    expect(panel.atRisk[0]).not.toHaveProperty('total');
  });
});
