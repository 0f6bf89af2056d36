/**
 * A deterministic synthetic workload: customers wandering through the funnel over several days,
 * with out-of-order arrivals and re-sent events, as backends would send them.
 */
import { seeded } from '../../services/generator/traffic.ts';

type Json = Record<string, unknown>;

const uuidFrom = (random: () => number) =>
  'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(random() * 16).toString(16));

/** `resend: false` leaves out the re-sent duplicates (for exact row counts downstream). */
export function journeys(options: {
  customers: number;
  start: string;
  days: number;
  seed: number;
  maxSteps?: number;
  resend?: boolean;
}): Json[] {
  const random = seeded(options.seed);
  const start = Date.parse(options.start);
  const segments = ['smb', 'enterprise', 'consumer'];
  const pages = ['home', 'product', 'pricing', 'blog', 'checkout', 'support'];
  const comments = [
    'Great service, thank you',
    'Delivery was slow and support was rude',
    'It arrived.',
    'Love it!',
    'Terrible checkout experience',
  ];
  const events: Json[] = [];
  for (let c = 0; c < options.customers; c++) {
    const customer = `cust-${c}`;
    const segment = segments[c % segments.length];
    const steps = 2 + Math.floor(random() * ((options.maxSteps ?? 15) - 1));
    let at = start + Math.floor(random() * options.days * 0.5 * 86_400_000);
    for (let s = 0; s < steps; s++) {
      at += Math.floor(random() * 0.4 * 86_400_000);
      const roll = random();
      const base = {
        event_id: uuidFrom(random),
        occurred_at: new Date(at).toISOString(),
        customer_id: customer,
        segment,
        session_id: `${customer}-${Math.floor(s / 3)}`,
        channel: 'web',
      };
      if (roll < 0.6) {
        events.push({
          ...base,
          type: 'page_view',
          properties: {
            url: `https://shop.example/${s}`,
            page_type: pages[Math.floor(random() * pages.length)],
            duration_ms: Math.floor(random() * 60_000),
            cta_shown: random() < 0.5,
            cta_clicked: random() < 0.15,
          },
        });
      } else if (roll < 0.72) {
        events.push({ ...base, type: 'form_submission', properties: { form_id: 'contact', form_type: 'contact' } });
      } else if (roll < 0.87) {
        events.push({
          ...base,
          type: 'purchase',
          properties: {
            order_id: `o-${c}-${s}`,
            amount: (random() * 200).toFixed(2),
            currency: 'EUR',
            items: 1 + Math.floor(random() * 3),
          },
        });
      } else {
        const kind = ['nps', 'csat', 'ces'][Math.floor(random() * 3)] as string;
        const score = kind === 'nps' ? Math.floor(random() * 11) : 1 + Math.floor(random() * 5);
        events.push({
          ...base,
          type: 'survey_response',
          properties: { survey_type: kind, score, comment: random() < 0.5 ? comments[Math.floor(random() * comments.length)] : null },
        });
      }
    }
  }
  // Arrival order: mostly by time, with some events shuffled late and some sent twice.
  const ordered = events.sort((a, b) => String(a.occurred_at).localeCompare(String(b.occurred_at)));
  for (let i = 0; i < ordered.length; i++) {
    if (random() < 0.05) {
      const j = Math.min(ordered.length - 1, i + Math.floor(random() * 40));
      [ordered[i], ordered[j]] = [ordered[j] as Json, ordered[i] as Json];
    }
  }
  const resent = options.resend === false ? [] : ordered.filter(() => random() < 0.03);
  return [...ordered, ...resent];
}
