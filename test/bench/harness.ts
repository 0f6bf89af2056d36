/**
 * What every benchmark script shares: the stack `npm start` would use (acquired, released after),
 * a config of its own topic prefix on it, the machine the figures were taken on, one JSON result
 * on stdout, and an exit code.
 */
import os from 'node:os';
import { loadConfig, type Config } from '../../services/common/config.ts';
import type { StackMode } from '../../infra/stack/acquire.ts';
import { endpointsAsEnv } from '../../infra/stack/endpoints.ts';
import { acquireScratchStack } from '../helpers/stack.ts';

/** The `p`th percentile (0–100) of values sorted ascending, by nearest rank; null when there are none. */
export const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null);

export interface BenchContext {
  readonly config: Config;
  readonly prefix: string;
  readonly stackMode: StackMode;
  /** The stack's endpoints as the environment of a `journey` child process. */
  readonly stackEnv: Record<string, string>;
}

export function runBench(run: (context: BenchContext) => Promise<Record<string, unknown>>, env: Record<string, string> = {}): void {
  const main = async () => {
    const stack = await acquireScratchStack();
    try {
      const prefix = `bench.${Date.now().toString(36)}.`;
      const stackEnv = endpointsAsEnv(stack.endpoints);
      const config = loadConfig({ ...process.env, ...stackEnv, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', ...env });
      const result = await run({ config, prefix, stackMode: stack.mode, stackEnv });
      const machine = {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        stack: stack.mode,
      };
      console.log(JSON.stringify({ machine, ...result }, null, 2));
    } finally {
      await stack.release();
    }
  };
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
