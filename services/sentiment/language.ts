/**
 * The language of a comment, among those journeyline scores: English, Persian, Arabic; anything
 * else is `unknown` (and its comment unscored). Persian and Arabic share a script, and a trigram
 * guesser tells them apart badly on short texts (nlp.js's guessed Arabic for every Persian comment
 * of our labelled set), so letters only one of them uses and their commonest words decide. Pure.
 */
import { normalise, tokens } from './normalise.ts';

export type CommentLanguage = 'en' | 'fa' | 'ar' | 'unknown';

const ARABIC_SCRIPT = /[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/gu;
const LATIN = /[a-z]/giu;
/** Letters Persian writes and Arabic does not. */
const PERSIAN_ONLY = /[پچژگ]/gu;
/** Letters Arabic writes and Persian (nearly) does not: ة, hamza seats, alef maqsura. */
const ARABIC_ONLY = /[ةؤئىإأ]/gu;
const PERSIAN_KEYBOARD = /[یک]/gu;
const ARABIC_KEYBOARD = /[يك]/gu;

/** Common words, in the normalised Persian spelling (normalise(…, 'fa')). */
const PERSIAN_WORDS: ReadonlySet<string> = new Set(
  'است نیست هست هستم نیستم بود نبود را می این آن که خیلی برای با هم شما ما من دیگه دیگر واقعا ممنون کرد کردم شد نشد داره ندارد نداره یک دو سه چیز همه اصلا هیچ خوب بد عالی میکنم نمیکنم رو هستند بودند'.split(
    ' ',
  ),
);
/** Common words, in the normalised Arabic spelling (normalise(…, 'ar')). */
const ARABIC_WORDS: ReadonlySet<string> = new Set(
  'في من على الي عن هذا هذه كان لا لم لن ليس جدا شكرا انا تم مع او ثم قد كل بعد قبل عند لقد هل ما ابدا الطلب الخدمه المنتج'.split(' '),
);

/** English words nearly every English comment of a few words has: Latin text without any is another language. */
const ENGLISH_WORDS: ReadonlySet<string> = new Set(
  "the a an and or but is was are were be been i i'm im you your my me we our they it it's its this that to of for in on at with not no never very so too all from have has had do does did don't didn't can can't will would good great bad thanks thank please".split(
    ' ',
  ),
);

const countOf = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

export function languageOf(text: string): CommentLanguage {
  const arabicScript = countOf(text, ARABIC_SCRIPT);
  const latin = countOf(text, LATIN);
  if (arabicScript === 0 && latin === 0) return 'unknown';
  if (latin > arabicScript) {
    const words = tokens(normalise(text, 'latin'));
    return words.length < 3 || words.some((word) => ENGLISH_WORDS.has(word)) ? 'en' : 'unknown';
  }
  const persianWords = tokens(normalise(text, 'fa')).filter((word) => PERSIAN_WORDS.has(word)).length;
  const arabicTokens = tokens(normalise(text, 'ar'));
  const arabicWords = arabicTokens.filter((word) => ARABIC_WORDS.has(word)).length;
  // The definite article: most Arabic sentences have a word in al-, Persian ones rarely.
  const definite = arabicTokens.filter((word) => /^(وال|بال|لل|فال|ال)../u.test(word)).length;
  // The keyboard's yeh and kaf, weakly: people type one language on the other's keyboard.
  const persian = 2 * countOf(text, PERSIAN_ONLY) + 2 * persianWords + 0.5 * countOf(text, PERSIAN_KEYBOARD);
  const arabic = 2 * countOf(text, ARABIC_ONLY) + 2 * arabicWords + definite + 0.5 * countOf(text, ARABIC_KEYBOARD);
  return arabic > persian ? 'ar' : 'fa';
}
