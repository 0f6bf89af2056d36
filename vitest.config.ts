import { defineConfig } from 'vitest/config';

// kafkajs 2.2.4 schedules a negative timeout on Node ≥ 23 (tulios/kafkajs#1751); Node clamps it to
// 1 ms, which is what kafkajs meant, so the warning is noise.
const execArgv = ['--disable-warning=TimeoutNegativeWarning'];

export default defineConfig({
  test: {
    pool: 'forks',
    execArgv,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['services/**/*.test.ts', 'infra/**/*.test.ts', 'schemas/**/*.test.ts'],
          // A few unit tests do real work (100,000 events of one customer, a generated month): on two
          // busy cores they take seconds, and a time limit is no measure of speed (benchmarks are).
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
