import { describe, expect, it } from 'vitest';
import { daysBetween, formatterFor, LOCALE_INFO, MESSAGES, t } from './i18n.js';

describe('the Persian locale', () => {
  const fa = formatterFor('fa');

  it('writes Persian digits and separators', () => {
    expect(fa.number(1234.5, 1)).toBe('۱٬۲۳۴٫۵');
    expect(fa.percent(12.3)).toBe('۱۲٫۳٪');
  });

  it('shows days in the Persian calendar, through Intl', () => {
    // 25 November 2026 is 4 Azar 1405.
    expect(fa.day('2026-11-25')).toBe('۴ آذر ۱۴۰۵');
    // Nowruz: 1 Farvardin 1405 is 21 March 2026.
    expect(fa.day('2026-03-21')).toBe('۱ فروردین ۱۴۰۵');
  });

  it('is right to left, and has every English message', () => {
    expect(LOCALE_INFO.fa.dir).toBe('rtl');
    expect(Object.keys(MESSAGES.fa).sort()).toEqual(Object.keys(MESSAGES.en).sort());
  });

  it('writes durations and lists in Persian', () => {
    expect(fa.duration(2.5 * 86_400)).toBe('۲٫۵ روز');
    // ICU marks the comma right-to-left (U+200F) where it would read ambiguously.
    expect(fa.list(['الف', 'ب', 'پ']).replaceAll('\u200f', '')).toMatch(/^الف، ب،? و پ$/);
  });
});

describe('messages', () => {
  it('fills values in, and shows an unknown key (a new signal) as its name', () => {
    expect(t('en', 'stuckNote', { days: '14' })).toBe('in consideration for more than 14 days');
    expect(t('fa', 'signal.brand_new_signal')).toBe('brand_new_signal');
  });
});

describe('daysBetween', () => {
  it('lists every day, inclusive, and at most the latest `limit`', () => {
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(daysBetween('2020-01-01', '2026-03-02', 2)).toEqual(['2026-03-01', '2026-03-02']);
  });
});
