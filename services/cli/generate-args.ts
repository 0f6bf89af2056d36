/**
 * The options of `journey generate` (and of the demo `journey start --demo` runs), validated like
 * every other input: a bad value names the option.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Config } from '../common/config.ts';
import type { GeneratorSettings } from '../generator/run.ts';
import { UsageError } from './usage-error.ts';

/** Segments of the demo: two in English, and the Persian and Arabic shops our first users run. */
export const DEMO_SEGMENTS = ['smb', 'enterprise', 'فروشگاه-تهران', 'متجر-الرياض'] as const;

const whole = (min: number, max: number) => z.coerce.number().int('must be a whole number').min(min).max(max);

const optionsSchema = z.strictObject({
  days: whole(0, 365),
  rate: whole(0, 100_000),
  customers: whole(1, 1_000_000),
  seed: whole(0, 2 ** 31),
  segments: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .pipe(z.array(z.string().max(128)).min(1, 'must name at least one segment')),
  'churn-segment': z.string().optional(),
  collector: z.url({ protocol: /^https?$/ }).optional(),
});

export function generatorSettingsOf(args: readonly string[], config: Config): GeneratorSettings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      days: { type: 'string', default: '30' },
      rate: { type: 'string', default: '20' },
      customers: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      segments: { type: 'string', default: DEMO_SEGMENTS.join(',') },
      'churn-segment': { type: 'string' },
      collector: { type: 'string' },
    },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  const options = parsed.data;
  const churnSegment = options['churn-segment'];
  if (churnSegment !== undefined && !options.segments.includes(churnSegment))
    throw new UsageError(`--churn-segment ${churnSegment} is not one of --segments ${options.segments.join(', ')}`);
  let collector: GeneratorSettings['collector'];
  if (options.collector !== undefined) {
    const apiKey = config.collector.apiKeys[0];
    if (apiKey === undefined) throw new UsageError('--collector needs COLLECTOR_API_KEYS: the key the collector accepts');
    collector = { url: options.collector, apiKey };
  }
  return {
    days: options.days,
    rate: options.rate,
    customers: options.customers,
    seed: options.seed,
    segments: options.segments,
    churnSegment,
    collector,
  };
}
