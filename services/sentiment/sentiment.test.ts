import { describe, expect, it } from 'vitest';
import { accuracyOf, LANGUAGES } from '../../test/accuracy/sentiment.ts';
import { languageOf } from './language.ts';
import { normalise } from './normalise.ts';
import { analyseComment } from './sentiment.ts';

describe('comment sentiment in Persian, Arabic and English', () => {
  it.each([
    ['خیلی بد بود، اصلا راضی نیستم', 'fa', 'negative'],
    ['خدمة سيئة جدا', 'ar', 'negative'],
    ['عالی بود، ممنون', 'fa', 'positive'],
    ['شكرا، خدمة ممتازة', 'ar', 'positive'],
    ['Terrible checkout, I gave up twice.', 'en', 'negative'],
    ['Great service, thank you!', 'en', 'positive'],
  ])('%s is %s, %s', (comment, language, sentiment) => {
    expect(analyseComment(comment)).toMatchObject({ language, sentiment });
  });

  it('reads Persian negation on the verb, and Arabic negation before the word', () => {
    expect(analyseComment('راضی هستم').sentiment).toBe('positive');
    expect(analyseComment('راضی نیستم').sentiment).toBe('negative');
    expect(analyseComment('بد نبود').sentiment).toBe('positive');
    expect(analyseComment('پیشنهاد نمی‌کنم').sentiment).toBe('negative');
    expect(analyseComment('هیچ مشکلی نداشتم').sentiment).toBe('positive');
    expect(analyseComment('جيد').sentiment).toBe('positive');
    expect(analyseComment('لم يكن جيدا').sentiment).toBe('negative');
    expect(analyseComment('غير راض').sentiment).toBe('negative');
    expect(analyseComment('لا توجد أي مشكلة').sentiment).toBe('positive');
  });

  it('takes a missing service action as the complaint it is', () => {
    expect(analyseComment('پشتیبانی جواب نداد').sentiment).toBe('negative');
    expect(analyseComment('ولم يعتذروا').sentiment).toBe('negative');
  });

  it('scores one word the same however it was typed', () => {
    const persian = analyseComment('خیلی خوب بود').score;
    // Arabic yeh and kaf from an Arabic keyboard, a zero-width non-joiner, diacritics, tatweel.
    expect(analyseComment('خيلي خوب بود').score).toBe(persian);
    expect(analyseComment('نمی‌خرم دیگه، افتضاح').score).toBe(analyseComment('نمیخرم دیگه، افتضاح').score);
    expect(analyseComment('الخدمةُ ممتازةٌ').score).toBe(analyseComment('الخدمه ممتازه').score);
    expect(analyseComment('ممـــتاز').score).toBe(analyseComment('ممتاز').score);
    expect(normalise('سفارش ۴۵۲۱ و ٤٥٢١', 'fa')).toBe('سفارش 4521 و 4521');
  });

  it('reads emoji, also without words', () => {
    expect(analyseComment('😡')).toMatchObject({ language: 'unknown', sentiment: 'negative' });
    expect(analyseComment('عالی 👍').sentiment).toBe('positive');
    expect(analyseComment('❤️❤️').sentiment).toBe('positive');
  });

  it('tells Persian from Arabic, and leaves a language it cannot score unscored, not neutral', () => {
    expect(languageOf('از خریدم راضی هستم')).toBe('fa');
    expect(languageOf('أنا راض عن طلبي')).toBe('ar');
    expect(analyseComment('Hizmet çok kötüydü, bir daha gelmem')).toEqual({ language: 'unknown', score: null, sentiment: 'unscored' });
    expect(analyseComment('服务很差')).toEqual({ language: 'unknown', score: null, sentiment: 'unscored' });
    expect(analyseComment('I ordered on Tuesday.')).toMatchObject({ language: 'en', sentiment: 'neutral' });
  });

  // The floor of docs/sentiment.md's table: at least 80 % of polar comments right in each language.
  it.each(LANGUAGES)('finds the sentiment of at least 80 %% of the labelled polar comments in %s', (language) => {
    const accuracy = accuracyOf(language, analyseComment);
    expect(accuracy.comments).toBeGreaterThanOrEqual(150);
    expect(accuracy.polar, accuracy.misses.join('\n')).toBeGreaterThanOrEqual(0.8);
  });
});
