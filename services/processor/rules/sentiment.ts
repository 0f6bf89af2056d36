/**
 * Sentiment of a survey comment by VADER (a maintained lexicon and rule set built for short,
 * informal text such as reviews), with its authors' recommended thresholds on the compound score.
 */
import vader from 'vader-sentiment';

export type Sentiment = 'positive' | 'neutral' | 'negative';

/** Compound score at or beyond ±0.05 is polar, per VADER's documentation. */
const POLAR = 0.05;

export function sentimentOf(comment: string): Sentiment {
  const { compound } = vader.SentimentIntensityAnalyzer.polarity_scores(comment);
  if (compound >= POLAR) return 'positive';
  if (compound <= -POLAR) return 'negative';
  return 'neutral';
}
