/**
 * One spelling per word before any lexicon is asked: the same Persian or Arabic word reaches us
 * typed on Arabic and Persian keyboards, with or without diacritics, tatweel, zero-width
 * non-joiners and Eastern digits. Pure.
 */

/** Arabic diacritics (tashkeel), the superscript alef, and tatweel: never part of the word. */
const MARKS = /[\u064B-\u065F\u0670\u0640]/g;
/** Persian (۰–۹) and Arabic-Indic (٠–٩) digits. */
const EASTERN_DIGITS = /[\u06F0-\u06F9\u0660-\u0669]/g;
const digitValue = (c: string) => String((c.codePointAt(0) ?? 0) & 0xf);

/** Letters as a Persian keyboard writes them: ي ى → ی, ك → ک, ة → ه, hamza-carrying alefs → ا. */
const PERSIAN_LETTERS: Readonly<Record<string, string>> = { ي: 'ی', ى: 'ی', ك: 'ک', ة: 'ه', أ: 'ا', إ: 'ا', ٱ: 'ا' };
/**
 * Letters as the Arabic lexicons are matched: ی → ي, ک → ك, alef variants → ا, ى → ي, ة → ه
 * (the last two are spelled either way in everyday writing: «ممتازه», «الخدمه»), hamza seats → ء.
 */
const ARABIC_LETTERS: Readonly<Record<string, string>> = {
  ی: 'ي',
  ک: 'ك',
  ى: 'ي',
  ة: 'ه',
  أ: 'ا',
  إ: 'ا',
  آ: 'ا',
  ٱ: 'ا',
  // Hamza on a seat or alone: one letter («رديئة», «رديء»).
  ئ: 'ء',
  ؤ: 'ء',
};

export type Script = 'fa' | 'ar';

/**
 * Lower case, one form of each letter for `script`, no marks, Western digits; a zero-width
 * non-joiner joins (نمی‌خرم and نمیخرم are one word).
 */
export function normalise(text: string, script: Script | 'latin'): string {
  let out = text.normalize('NFKC').toLowerCase().replace(MARKS, '').replace(EASTERN_DIGITS, digitValue).replaceAll('\u200c', '');
  if (script === 'latin') return out;
  const letters = script === 'fa' ? PERSIAN_LETTERS : ARABIC_LETTERS;
  out = out.replace(/[يىكةأإٱیکآئؤ]/g, (c) => letters[c] ?? c);
  return out;
}

/** Words and emoji: punctuation (Persian and Arabic too: ، ؛ ؟) separates; an emoji is a token of its own. */
export function tokens(normalised: string): string[] {
  return normalised
    .replace(/(\p{Extended_Pictographic})/gu, ' $1 ')
    .split(/[\s.,!?;:()[\]{}"'«»،؛؟…\-–—/\\|*+=<>~`^_]+/u)
    .map((token) => token.replace(/\uFE0F/g, ''))
    .filter((token) => token !== '');
}
