/**
 * The processor's rules as the partition state's specs run them: UTC days, two days' lateness, the
 * default stages; a spec lays over only what its case is about (a time zone, a longer lateness).
 */
import type { ProcessorRules } from '../../services/processor/state/partition-state.ts';
import { DEFAULT_STAGE_RULES } from '../../services/processor/rules/stage.ts';

const DAY_MS = 24 * 3600 * 1000;

export const processorRules = (overrides: Partial<ProcessorRules> = {}): ProcessorRules => ({
  stage: DEFAULT_STAGE_RULES,
  timeZone: 'UTC',
  allowedLatenessMs: 2 * DAY_MS,
  dormantAfterDays: 30,
  checkoutAbandonedAfterMs: 3_600_000,
  dedup: { windowMs: 30 * DAY_MS, maxIds: 2000 },
  ...overrides,
});
