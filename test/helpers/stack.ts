/** The stack for test runs and benchmarks: the one `npm start` would use, wiped after if they started it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/common/config.ts';
import { acquireStack, type AcquiredStack } from '../../infra/stack/acquire.ts';
import { freePort } from './net.ts';

export function acquireScratchStack(): Promise<AcquiredStack> {
  const report = (line: string) => {
    console.error(`[stack] ${line}`);
  };
  return acquireStack(loadConfig(), process.env, report, { ephemeral: true });
}

/**
 * The settings of a native stack of a test's own — a scratch directory and free ports — for tests
 * that kill, freeze or stop the stack (the suites' shared one must not go down under them).
 */
export async function privateStackEnv(name: string): Promise<Record<string, string> & { readonly STACK_DIR: string }> {
  const [kafka, controller, registry, management] = await Promise.all(Array.from({ length: 4 }, () => freePort()));
  return {
    STACK_DIR: mkdtempSync(path.join(tmpdir(), `journeyline-${name}-stack-`)),
    STACK_KAFKA_PORT: String(kafka),
    STACK_KAFKA_CONTROLLER_PORT: String(controller),
    STACK_REGISTRY_PORT: String(registry),
    STACK_REGISTRY_MANAGEMENT_PORT: String(management),
    STACK_KAFKA_HEAP: '384m',
  };
}
