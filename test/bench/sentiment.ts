/**
 * Comment sentiment speed: `npm run bench:sentiment`. Reads the labelled comments of every language
 * (test/fixtures/sentiment) many times over, and VADER alone on the English ones in the same run:
 * comments per second, and the ratio to VADER, which is what the processor paid per comment before
 * comments were read in their language.
 */
import vader from 'vader-sentiment';
import { analyseComment } from '../../services/sentiment/sentiment.ts';
import { labelled, LANGUAGES } from '../accuracy/sentiment.ts';

const ROUNDS = 200;

function rate(texts: readonly string[], analyse: (text: string) => unknown): number {
  for (const text of texts) analyse(text); // warm up
  const began = performance.now();
  for (let round = 0; round < ROUNDS; round++) for (const text of texts) analyse(text);
  return Math.round((ROUNDS * texts.length * 1000) / (performance.now() - began));
}

const vaderRate = rate(
  labelled('en').map((row) => row.text),
  (text) => vader.SentimentIntensityAnalyzer.polarity_scores(text),
);
console.log(`| language | comments/s | ÷ VADER on English |`);
console.log(`| --- | ---: | ---: |`);
console.log(`| en, VADER alone | ${String(vaderRate)} | 1.00 |`);
for (const language of LANGUAGES) {
  const comments = rate(
    labelled(language).map((row) => row.text),
    analyseComment,
  );
  console.log(`| ${language} | ${String(comments)} | ${(comments / vaderRate).toFixed(2)} |`);
}
