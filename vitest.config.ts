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
        test: { name: 'unit', include: ['services/**/*.test.ts', 'infra/**/*.test.ts', 'schemas/**/*.test.ts'] },
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
