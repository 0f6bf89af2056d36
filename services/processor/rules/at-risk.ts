/**
 * Customers at risk: customer-experience practice says to contact an unhappy customer at once,
 * and the ones who already bought matter most. A converted customer (conversion or ongoing
 * engagement) is at risk when a survey of theirs says so, or when they go silent. Pure.
 */
import type { EventOf } from '../../../schemas/event-contract.ts';
import type { CommentSentiment } from '../../sentiment/sentiment.ts';
import { CONVERTED_STAGES, type Stage } from '../../../schemas/processor-outputs.ts';

/** The survey reasons, and `dormant`: no event for DORMANT_AFTER_DAYS (decided by the partition state, which knows stream time). */
export const AT_RISK_REASONS = ['nps_detractor', 'low_csat', 'high_ces', 'negative_comment', 'dormant'] as const;
export type AtRiskReason = (typeof AT_RISK_REASONS)[number];

/** Why this survey puts the customer at risk; empty when it does not (or the customer has not bought). */
export function atRiskReasonsOf(
  stage: Stage,
  survey: EventOf<'survey_response'>,
  sentiment: CommentSentiment['sentiment'] | null,
): AtRiskReason[] {
  if (!CONVERTED_STAGES.has(stage)) return [];
  const { survey_type: kind, score } = survey.properties;
  const reasons: AtRiskReason[] = [];
  if (kind === 'nps' && score <= 6) reasons.push('nps_detractor');
  if (kind === 'csat' && score <= 2) reasons.push('low_csat');
  if (kind === 'ces' && score >= 4) reasons.push('high_ces');
  if (sentiment === 'negative') reasons.push('negative_comment');
  return reasons;
}
