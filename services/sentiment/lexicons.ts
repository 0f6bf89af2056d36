/**
 * The Persian and Arabic word lists the scorer reads. The base is nlp.js's AFINN lexicons
 * (@nlpjs/lang-fa, @nlpjs/lang-ar: scores −5…+5, a maintained package); they are translations of
 * an English list and miss most words customers use about service, so a supplement of that
 * vocabulary (ours, on the same scale) is laid over them. Pure data, built once.
 */
import arabicAfinn from '@nlpjs/lang-ar/src/sentiment/afinn_ar.json' with { type: 'json' };
import persianAfinn from '@nlpjs/lang-fa/src/sentiment/afinn_fa.json' with { type: 'json' };
import { normalise, type Script, tokens } from './normalise.ts';

export interface Lexicon {
  /** A word's score, in normalised spelling. */
  readonly words: ReadonlyMap<string, number>;
  /** Two- and three-word phrases (normalised tokens joined by a space): matched first, never negated again. */
  readonly phrases: ReadonlyMap<string, number>;
  /** Service actions whose absence is the complaint («جواب نداد», «لم يعتذروا»): 0, or −2 when negated. */
  readonly expected: ReadonlySet<string>;
  /** Words of our supplement: the only ones a stripped suffix may leave shorter than three letters (بد). */
  readonly curated: ReadonlySet<string>;
}

const PERSIAN_SUPPLEMENT: Readonly<Record<string, number>> = {
  عالی: 4,
  خوب: 3,
  ممنون: 3,
  مرسی: 3,
  سپاس: 3,
  تشکر: 3,
  متشکر: 3,
  راضی: 3,
  رضایت: 3,
  سریع: 2,
  مودب: 2,
  مهربان: 3,
  بینظیر: 4,
  فوقالعاده: 4,
  بهترین: 4,
  بهتر: 2,
  مناسب: 2,
  منصفانه: 2,
  آسان: 2,
  راحت: 2,
  ساده: 1,
  تمیز: 2,
  شیک: 2,
  لذت: 3,
  لذتبخش: 3,
  خوشحال: 3,
  خوش: 2,
  خوشبرخورد: 3,
  خوشقول: 3,
  پیشنهاد: 2,
  توصیه: 2,
  اصل: 1,
  محترمانه: 2,
  صبور: 2,
  کاربردی: 2,
  ارزش: 1,
  بیدردسر: 2,
  سالم: 2,
  حرفهای: 2,
  بینقص: 3,
  درست: 1,
  کمک: 1,
  واضح: 1,
  دقیق: 2,
  عالیه: 4,
  پشیمان: -3,
  بد: -3,
  بدترین: -4,
  بدتر: -2,
  افتضاح: -4,
  ضعیف: -2,
  کند: -2,
  گران: -2,
  گرون: -2,
  خراب: -3,
  شکسته: -3,
  شکست: -2,
  دیر: -2,
  معطل: -2,
  ناراضی: -3,
  ناراحت: -3,
  عصبانی: -3,
  کلافه: -3,
  ناامید: -3,
  گیج: -2,
  گیجکننده: -2,
  بیادب: -3,
  بیادبانه: -3,
  بداخلاق: -3,
  زشت: -2,
  بیکیفیت: -3,
  بیفایده: -3,
  تقلبی: -3,
  معیوب: -3,
  متنفر: -4,
  مزخرف: -4,
  کلاهبرداری: -4,
  هدر: -2,
  تلف: -2,
  اشتباه: -2,
  گم: -2,
  خطا: -2,
  مشکل: -2,
  بیاحترامی: -3,
  سخت: -2,
  دردسر: -2,
  پایین: -1,
  سرد: -1,
  لغو: -1,
  منتظر: -1,
};
/**
 * Words of the translated lexicons that are neutral in what customers write about a purchase
 * (payment, please, gift, quality, support): the translation scored them, the context does not.
 */
const PERSIAN_NEUTRAL = 'پرداخت لطفا هدیه کیفیت پشتیبانی نه'.split(' ');
const PERSIAN_PHRASES: Readonly<Record<string, number>> = {
  'دمتون گرم': 3,
  'دست مریزاد': 3,
  'به موقع': 2,
  'سر وقت': 2,
  'سرم کلاه': -3,
  'غیر قابل اعتماد': -3,
  'غیرقابل اعتماد': -3,
  'وقتم تلف': -2,
  'ارزش نداره': -2,
  'کیفیت پایین': -2,
  'خیلی زیاده': -2,
  'خیلی بالاست': -2,
};
const PERSIAN_EXPECTED = 'جواب پاسخ پاسخگو تماس عذرخواهی توضیح تعویض کار خرید سفارش برگشت پیگیری'.split(' ');

const ARABIC_SUPPLEMENT: Readonly<Record<string, number>> = {
  ممتاز: 4,
  رائع: 4,
  جيد: 3,
  جميل: 3,
  شكرا: 3,
  شكر: 2,
  راض: 3,
  راضي: 3,
  سعيد: 3,
  سريع: 2,
  سهل: 2,
  مهذب: 2,
  لطيف: 2,
  لطفاء: 2,
  متعاون: 2,
  مفيد: 2,
  مناسب: 2,
  عادل: 2,
  انصح: 2,
  احسنتم: 3,
  نظيف: 2,
  انيق: 2,
  افضل: 3,
  اصلي: 1,
  مريح: 2,
  محترم: 2,
  صبور: 2,
  يستحق: 1,
  مضبوط: 2,
  ملتزم: 2,
  مصداقيه: 2,
  مرتب: 2,
  راقي: 3,
  احب: 3,
  ممتع: 3,
  واضح: 1,
  نادم: -3,
  سيء: -3,
  اسوا: -4,
  رديء: -3,
  فظيع: -4,
  بطيء: -2,
  مكسور: -3,
  غالي: -2,
  وقح: -3,
  خطا: -2,
  مزعج: -3,
  منزعج: -3,
  محبط: -3,
  غاضب: -3,
  مربك: -2,
  صعب: -2,
  ضعيف: -2,
  معيب: -3,
  مقلد: -3,
  مكلف: -2,
  مبالغ: -2,
  تاخير: -2,
  تاخر: -2,
  غش: -3,
  اكره: -4,
  مضيعه: -3,
  ضاع: -2,
  اضاعوا: -2,
  يتعطل: -3,
  توقف: -2,
  فشل: -3,
  مشكله: -2,
  مشاكل: -2,
  بارد: -1,
  انكسر: -3,
  بهت: -2,
  منخفض: -1,
  مرتفع: -1,
  مهذبين: 2,
  فائده: 1,
  الغاء: -1,
  الغيت: -1,
  الغوا: -2,
  انتظر: -1,
  انتظرت: -1,
};
/** And the negators, which negate rather than score («لا» is −1 in the translation of "no"). */
const ARABIC_NEUTRAL = 'جوده هديه الدفع دفع دعم الدعم لا لم لن ليس ليست لست غير ما بدون بلا'.split(' ');
const ARABIC_PHRASES: Readonly<Record<string, number>> = {
  'بلا فائده': -3,
  'خيبه امل': -3,
  'لا مثيل': 3,
  'غير موثوق': -3,
  'غير مهذب': -3,
  'غير مهذبين': -3,
  'في الوقت': 2,
  'مبالغ فيها': -2,
};
const ARABIC_EXPECTED = 'يرد رد يساعد يعمل يعتذر يعتذروا اعتذر يتصل يتصلوا اتصل اشتري اطلب اعود يشرح شرح استبدال استبداله'.split(' ');

function lexiconOf(
  script: Script,
  afinn: Readonly<Record<string, number>>,
  supplement: Readonly<Record<string, number>>,
  neutral: readonly string[],
  phrases: Readonly<Record<string, number>>,
  expected: readonly string[],
): Lexicon {
  const words = new Map<string, number>();
  const phraseMap = new Map<string, number>();
  const add = (entry: string, score: number) => {
    const parts = tokens(normalise(entry, script));
    if (parts.length === 1) words.set(parts[0] ?? '', score);
    else if (parts.length <= 3) phraseMap.set(parts.join(' '), score);
  };
  for (const [entry, score] of Object.entries(afinn)) add(entry, score);
  // Ours last: a supplement entry replaces the translation's score for the same word.
  for (const [entry, score] of Object.entries({ ...supplement, ...phrases })) add(entry, score);
  for (const entry of neutral) words.delete(normalise(entry, script));
  return {
    words,
    phrases: phraseMap,
    expected: new Set(expected.map((word) => normalise(word, script))),
    curated: new Set(Object.keys(supplement).map((word) => normalise(word, script))),
  };
}

export const PERSIAN = lexiconOf('fa', persianAfinn, PERSIAN_SUPPLEMENT, PERSIAN_NEUTRAL, PERSIAN_PHRASES, PERSIAN_EXPECTED);
export const ARABIC = lexiconOf('ar', arabicAfinn, ARABIC_SUPPLEMENT, ARABIC_NEUTRAL, ARABIC_PHRASES, ARABIC_EXPECTED);
