/** Who the generated customers are: personas, money and social networks per segment, and what they say by mood. */
import type { SOCIAL_NETWORKS } from '../../schemas/event-contract.ts';

/** How a customer behaves: how often they come, how deep they go, whether they buy. */
export const PERSONAS = {
  bouncer: { share: 0.3, visitsPerWeek: 0.5, pages: [1, 1], form: 0, buy: 0, rebuy: 0 },
  reader: { share: 0.25, visitsPerWeek: 1.5, pages: [2, 5], form: 0.1, buy: 0.01, rebuy: 0 },
  comparer: { share: 0.2, visitsPerWeek: 2, pages: [3, 7], form: 0.25, buy: 0.08, rebuy: 0.02 },
  buyer: { share: 0.15, visitsPerWeek: 2.5, pages: [2, 6], form: 0.1, buy: 0.25, rebuy: 0.08 },
  loyal: { share: 0.1, visitsPerWeek: 4, pages: [2, 5], form: 0.05, buy: 0.2, rebuy: 0.2 },
} as const;
export type Persona = keyof typeof PERSONAS;

/** What each segment pays in: currencies differ, amounts in their own magnitude. */
export const MONEY: Readonly<Record<string, { currency: string; min: number; max: number; decimals: number }>> = {
  smb: { currency: 'EUR', min: 15, max: 400, decimals: 2 },
  enterprise: { currency: 'USD', min: 200, max: 5000, decimals: 2 },
  'فروشگاه-تهران': { currency: 'IRR', min: 2_000_000, max: 90_000_000, decimals: 0 },
  'متجر-الرياض': { currency: 'SAR', min: 40, max: 1500, decimals: 2 },
};
export const DEFAULT_MONEY = { currency: 'EUR', min: 10, max: 300, decimals: 2 };

/** Survey comments as our users write them, by mood. */
export const COMMENTS = {
  positive: [
    'Great service, fast delivery. Thank you!',
    'Love the new dashboard, it saves me hours.',
    'خیلی عالی بود، ممنون از پشتیبانی سریع',
    'کیفیت محصول فوق‌العاده است',
    'خدمة ممتازة وتوصيل سريع، شكراً لكم',
    'تجربة رائعة، سأشتري مرة أخرى',
  ],
  neutral: ['It arrived.', 'OK I guess.', 'سفارش رسید.', 'معمولی بود', 'وصل الطلب.', 'لا بأس'],
  negative: [
    'Terrible checkout, I gave up twice.',
    'Support never answered my ticket.',
    'خیلی بد بود، دیگر خرید نمی‌کنم',
    'ارسال دو هفته طول کشید و کسی جواب نداد',
    'تجربة سيئة جداً، لن أعود',
    'الدعم لا يرد والسعر مرتفع',
  ],
} as const;
export type Mood = keyof typeof COMMENTS;

/** How customers say they heard of the shop. */
export const REFERRAL_SOURCES = ['instagram', 'google', 'friend', 'telegram', 'other'] as const;

/** Where each segment's customers follow the shop. */
export const NETWORKS: Readonly<Record<string, readonly (typeof SOCIAL_NETWORKS)[number][]>> = {
  'فروشگاه-تهران': ['instagram', 'instagram', 'telegram', 'aparat', 'eitaa'],
  'متجر-الرياض': ['instagram', 'x', 'x', 'whatsapp', 'tiktok'],
};
export const DEFAULT_NETWORKS = ['instagram', 'linkedin', 'youtube', 'x'] as const;

/** A 1–5 answer asked on 10 points (CSAT) or 7 (CES effort), as a survey on that scale would get it. */
export const ON_TEN = [1, 3, 5, 8, 10] as const;
export const ON_SEVEN = [1, 2, 4, 6, 7] as const;
