import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../../schemas/event-contract.ts';
import { atRiskReasonsOf } from './at-risk.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const survey = (survey_type: 'nps' | 'csat' | 'ces', score: number): EventOf<'survey_response'> =>
  journeyEvent('survey_response', { n: 1, session_id: null, segment: null }, { survey_type, score });

describe('atRiskReasonsOf', () => {
  it('names every reason a converted customer is at risk, at the edges of each scale', () => {
    expect([
      atRiskReasonsOf('conversion', survey('nps', 6), null),
      atRiskReasonsOf('conversion', survey('nps', 7), null),
      atRiskReasonsOf('ongoing_engagement', survey('csat', 2), null),
      atRiskReasonsOf('ongoing_engagement', survey('csat', 3), null),
      atRiskReasonsOf('conversion', survey('ces', 4), null),
      atRiskReasonsOf('conversion', survey('ces', 3), null),
      atRiskReasonsOf('conversion', survey('nps', 0), 'negative'),
      atRiskReasonsOf('conversion', survey('nps', 10), 'negative'),
    ]).toEqual([['nps_detractor'], [], ['low_csat'], [], ['high_ces'], [], ['nps_detractor', 'negative_comment'], ['negative_comment']]);
  });

  it('leaves customers who have not bought to the funnel, not to customer success', () => {
    expect(
      ['unaware', 'discovery', 'consideration'].map((stage) => atRiskReasonsOf(stage as 'discovery', survey('nps', 0), 'negative')),
    ).toEqual([[], [], []]);
  });
});
