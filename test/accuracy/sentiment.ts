/**
 * Accuracy of comment sentiment on the labelled comments in test/fixtures/sentiment (one file per
 * language: `label<TAB>comment`), against a baseline: nlp.js's own analyser where it has the
 * language. `npm run sentiment:accuracy` prints the table docs/sentiment.md shows; the unit test
 * holds the floor.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyseComment, type Sentiment } from '../../services/sentiment/sentiment.ts';

export const LANGUAGES = ['en', 'fa', 'ar'] as const;
export type LabelledLanguage = (typeof LANGUAGES)[number];

export interface Labelled {
  readonly label: Sentiment;
  readonly text: string;
}

export function labelled(language: LabelledLanguage): Labelled[] {
  const file = path.resolve(import.meta.dirname, '../fixtures/sentiment', `${language}.tsv`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [label = '', text = ''] = line.split('\t');
      if (label !== 'positive' && label !== 'negative' && label !== 'neutral') throw new Error(`${file}: bad label in ${line}`);
      return { label, text };
    });
}

export interface Accuracy {
  readonly language: LabelledLanguage;
  readonly comments: number;
  /** Share of comments whose label was found. */
  readonly overall: number;
  /** Share of positive and negative comments found as such: the figure the issue targets. */
  readonly polar: number;
  /** Share of comments whose language was found. */
  readonly languageFound: number;
  readonly misses: readonly string[];
}

export function accuracyOf(language: LabelledLanguage, classify: (text: string) => { language: string; sentiment: string }): Accuracy {
  const rows = labelled(language);
  let right = 0;
  let polar = 0;
  let polarRight = 0;
  let languageFound = 0;
  const misses: string[] = [];
  for (const { label, text } of rows) {
    const found = classify(text);
    if (found.language === language) languageFound++;
    if (found.sentiment === label) right++;
    else misses.push(`${label} → ${found.sentiment}: ${text}`);
    if (label !== 'neutral') {
      polar++;
      if (found.sentiment === label) polarRight++;
    }
  }
  return {
    language,
    comments: rows.length,
    overall: right / rows.length,
    polar: polarRight / polar,
    languageFound: languageFound / rows.length,
    misses,
  };
}

const pct = (share: number) => `${(100 * share).toFixed(1)} %`;

/**
 * nlp.js's own analyser with its fa, ar (AFINN translations) and en lexicons, told the right
 * language: what the package alone would give.
 */
async function nlpjsBaseline(): Promise<(language: LabelledLanguage, text: string) => Promise<string>> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  type Analyser = { process(input: { locale: string; text: string }): Promise<{ sentiment: { score: number } }> };
  const { Container } = require('@nlpjs/core') as { Container: new () => { use(plugin: unknown): void } };
  const { SentimentAnalyzer } = require('@nlpjs/sentiment') as { SentimentAnalyzer: new (settings: { container: unknown }) => Analyser };
  const container = new Container();
  for (const pkg of ['@nlpjs/lang-fa', '@nlpjs/lang-ar']) container.use(Object.values(require(pkg) as Record<string, unknown>)[0]);
  const analyser = new SentimentAnalyzer({ container });
  return async (language, text) => {
    const { score } = (await analyser.process({ locale: language, text })).sentiment;
    return score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral';
  };
}

if (import.meta.main) {
  const baseline = await nlpjsBaseline();
  console.log('| language | comments | polar accuracy | overall accuracy | language detected | nlp.js alone, polar |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const results = LANGUAGES.map((language) => accuracyOf(language, analyseComment));
  for (const r of results) {
    const rows = labelled(r.language).filter((row) => row.label !== 'neutral');
    let right = 0;
    for (const row of rows) if ((await baseline(r.language, row.text)) === row.label) right++;
    // English is VADER's; nlp.js's English lexicon is not a dependency.
    const alone = r.language === 'en' ? '–' : pct(right / rows.length);
    console.log(`| ${r.language} | ${r.comments} | ${pct(r.polar)} | ${pct(r.overall)} | ${pct(r.languageFound)} | ${alone} |`);
  }
  if (process.argv.includes('--misses')) for (const r of results) console.log(`\n${r.language}:\n${r.misses.join('\n')}`);
}
