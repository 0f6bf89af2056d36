/**
 * The sentiment of a customer's comment, in the language it is written in. English goes to VADER
 * (a maintained lexicon and rule set built for short, informal text). Persian and Arabic go to a
 * lexicon scorer over nlp.js's lexicons and our service vocabulary (lexicons.ts), after one
 * spelling per word (normalise.ts), with the rules of each language for negation: Persian negates
 * the verb at the end of the clause («راضی نیستم», «خوب نبود»), Arabic puts the negator before
 * the word («لم يكن جيدا», «غير راض»). A comment in any other language is `unscored`, never
 * `neutral`, so it stays out of the positive and negative shares. Pure; docs/sentiment.md has the
 * accuracy on labelled comments (npm run sentiment:accuracy).
 */
import vader from 'vader-sentiment';
import { languageOf, type CommentLanguage } from './language.ts';
import { ARABIC, PERSIAN, type Lexicon } from './lexicons.ts';
import { normalise, tokens, type Script } from './normalise.ts';

export type Sentiment = 'positive' | 'neutral' | 'negative';

export interface CommentSentiment {
  readonly language: CommentLanguage;
  /** −1 … +1 (VADER's compound score, or the same normalisation of the lexicon sum); null when unscored. */
  readonly score: number | null;
  readonly sentiment: Sentiment | 'unscored';
}

/** Compound score at or beyond ±0.05 is polar, per VADER's documentation; the same for every language. */
const POLAR = 0.05;
/** VADER's normalisation of a sum of word scores into −1 … +1. */
const compound = (sum: number) => (sum === 0 ? 0 : sum / Math.sqrt(sum * sum + 15));

const sentimentOfScore = (score: number): Sentiment => (score >= POLAR ? 'positive' : score <= -POLAR ? 'negative' : 'neutral');

/** Clauses: negation does not reach across a comma or a full stop. */
const CLAUSE = /[،,.!?؟؛;:\n]+/u;

interface Term {
  readonly score: number;
  /** The word itself carries the negation (نمی‌پسندم, نداشتم). */
  readonly negatedInWord: boolean;
  readonly expected: boolean;
}

const PERSIAN_SUFFIXES = [
  'هایی',
  'های',
  'ها',
  'ترین',
  'تر',
  'یه',
  'ام',
  'ای',
  'اید',
  'اند',
  'یم',
  'ید',
  'ند',
  'م',
  'ت',
  'ش',
  'ی',
  'ه',
  'ن',
  'ست',
];
/** Verbs negated by their prefix, which negate the polar words before them in the clause. */
const PERSIAN_NEGATED_VERB = /^(نیست|نبود|نمی|نکرد|نکن|نشد|ندار|نداشت|نداد|نده|نخواه|نیوم|نیامد|نرسید|نگرفت|نگذاشت|نپسند)/u;
const ARABIC_PREFIXES = ['وال', 'بال', 'كال', 'فال', 'لل', 'ال', 'و', 'ف', 'ب', 'ل', 'ك', 'س'];
const ARABIC_SUFFIXES = ['ها', 'هم', 'هن', 'كم', 'نا', 'ات', 'ون', 'ين', 'ان', 'وا', 'ه', 'ا', 'ي', 'ت'];
/** Words that negate what follows them (up to three words on). */
const ARABIC_NEGATORS: ReadonlySet<string> = new Set([
  'لا',
  'لم',
  'لن',
  'ليس',
  'ليست',
  'لست',
  'لسنا',
  'لستم',
  'غير',
  'ما',
  'بدون',
  'بلا',
  'مش',
  'مو',
  'ولا',
  'ولم',
  'ولن',
]);

/**
 * A word and what it may be without one or two suffixes («گرونه» → «گرون», «عالیه» → «عالی»). A
 * stem shorter than three letters counts only if our supplement has it: the translated lexicons
 * hold short words that ordinary ones shrink to («کسی», someone, → a vulgar «کس»).
 */
function stripSuffixes(word: string, suffixes: readonly string[], lexicon: Lexicon): string[] {
  const shorter = (form: string) =>
    suffixes
      .filter((suffix) => form.endsWith(suffix) && form.length - suffix.length >= 2)
      .map((suffix) => form.slice(0, -suffix.length))
      .filter((stem) => stem.length >= 3 || lexicon.curated.has(stem));
  const once = shorter(word);
  return [word, ...once, ...once.flatMap(shorter)];
}

function persianTerm(word: string, lexicon: Lexicon): Term | undefined {
  const find = (forms: readonly string[]) => forms.find((form) => lexicon.words.has(form) || lexicon.expected.has(form));
  const termOf = (form: string, negatedInWord: boolean): Term => ({
    score: lexicon.words.get(form) ?? 0,
    negatedInWord,
    expected: lexicon.expected.has(form),
  });
  const direct = find(stripSuffixes(word, PERSIAN_SUFFIXES, lexicon));
  if (direct !== undefined) return termOf(direct, false);
  for (const [prefix, negated] of [
    ['نمی', true],
    ['می', false],
    ['ن', true],
  ] as const) {
    if (!word.startsWith(prefix) || word.length - prefix.length < 2) continue;
    const stem = find(stripSuffixes(word.slice(prefix.length), PERSIAN_SUFFIXES, lexicon));
    if (stem !== undefined) return termOf(stem, negated);
  }
  // «بی» + a polar word is its opposite (بی‌کیفیت), unless the lexicon knows the whole word (بی‌نظیر).
  if (word.startsWith('بی') && word.length > 3) {
    const stem = find(stripSuffixes(word.slice(2), PERSIAN_SUFFIXES, lexicon));
    const score = stem === undefined ? 0 : (lexicon.words.get(stem) ?? 0);
    if (score > 0) return { score: -score, negatedInWord: false, expected: false };
  }
  return undefined;
}

function arabicTerm(word: string, lexicon: Lexicon): Term | undefined {
  const forms = [
    word,
    ...ARABIC_PREFIXES.filter((p) => word.startsWith(p) && word.length - p.length >= 2).map((p) => word.slice(p.length)),
  ];
  for (const form of forms) {
    const found = stripSuffixes(form, ARABIC_SUFFIXES, lexicon).find((f) => lexicon.words.has(f) || lexicon.expected.has(f));
    if (found !== undefined) return { score: lexicon.words.get(found) ?? 0, negatedInWord: false, expected: lexicon.expected.has(found) };
  }
  return undefined;
}

/** The sum of a clause's word scores, phrases first, with its language's negation. */
function clauseSum(words: readonly string[], script: Script, lexicon: Lexicon): number {
  let sum = 0;
  const terms: (Term | undefined)[] = [];
  for (let i = 0; i < words.length; i++) {
    const three = words.slice(i, i + 3).join(' ');
    const two = words.slice(i, i + 2).join(' ');
    const phrase = lexicon.phrases.has(three) ? 3 : lexicon.phrases.has(two) ? 2 : 0;
    if (phrase > 0) {
      sum += lexicon.phrases.get(phrase === 3 ? three : two) ?? 0;
      for (let k = 0; k < phrase; k++) terms.push(undefined);
      i += phrase - 1;
      continue;
    }
    terms.push((script === 'fa' ? persianTerm : arabicTerm)(words[i] ?? '', lexicon));
  }
  const negated = new Set<number>();
  words.forEach((word, i) => {
    if (script === 'fa' && PERSIAN_NEGATED_VERB.test(word)) {
      // The verb ends the clause's predicate: it negates the polar words just before it.
      for (let k = Math.max(0, i - 4); k < i; k++) negated.add(k);
    }
    // «ما زال» is "still", not a negation.
    if (script === 'ar' && ARABIC_NEGATORS.has(word) && !(word === 'ما' && /^زا?ل/u.test(words[i + 1] ?? ''))) {
      for (let k = i + 1; k <= Math.min(words.length - 1, i + 3); k++) negated.add(k);
    }
  });
  terms.forEach((term, i) => {
    if (term === undefined) return;
    const flipped = term.negatedInWord !== negated.has(i);
    if (term.expected && term.score === 0) sum += flipped ? -2 : 0;
    else sum += flipped ? -term.score : term.score;
  });
  return sum;
}

/** The clauses of a text as words: punctuation ends a clause, and so does a standalone «و» (and). */
function clausesOf(normalised: string): string[][] {
  return normalised.split(CLAUSE).flatMap((clause) => {
    const clauses: string[][] = [[]];
    for (const word of tokens(clause)) {
      if (word === 'و') clauses.push([]);
      else clauses.at(-1)?.push(word);
    }
    return clauses;
  });
}

function lexiconScore(text: string, script: Script): number {
  const lexicon = script === 'fa' ? PERSIAN : ARABIC;
  return compound(clausesOf(normalise(text, script)).reduce((total, words) => total + clauseSum(words, script, lexicon), 0));
}

/** Latin text without an English function word is English still when VADER finds polar words in it («Superb service»). */
function englishAfterAll(text: string): number | undefined {
  if (!/[a-z]/i.test(text)) return undefined;
  const scores = vader.SentimentIntensityAnalyzer.polarity_scores(text);
  return scores.pos + scores.neg > 0 ? scores.compound : undefined;
}

export function analyseComment(text: string): CommentSentiment {
  let language = languageOf(text);
  let score: number;
  if (language === 'unknown') {
    const english = englishAfterAll(text);
    // Emoji and no letters: no language, but a sentiment all the same (the lexicons score emoji).
    const emojiOnly = !/\p{L}/u.test(text) && /\p{Extended_Pictographic}/u.test(text);
    if (english === undefined && !emojiOnly) return { language, score: null, sentiment: 'unscored' };
    if (english === undefined) score = lexiconScore(text, 'fa');
    else {
      language = 'en';
      score = english;
    }
  } else score = language === 'en' ? vader.SentimentIntensityAnalyzer.polarity_scores(text).compound : lexiconScore(text, language);
  const rounded = Math.round(score * 10_000) / 10_000;
  return { language, score: rounded, sentiment: sentimentOfScore(rounded) };
}
