/** The stack for test runs and benchmarks: the one `npm start` would use, wiped after if they started it. */
import { loadConfig } from '../../services/common/config.ts';
import { acquireStack, type AcquiredStack } from '../../infra/stack/acquire.ts';

export function acquireScratchStack(): Promise<AcquiredStack> {
  const report = (line: string) => {
    console.error(`[stack] ${line}`);
  };
  return acquireStack(loadConfig(), process.env, report, { ephemeral: true });
}
