/**
 * Brings up the services the integration suites talk to, through the same decision `npm start`
 * uses (infra/stack/acquire.ts): environment endpoints, else containers, else the native launcher.
 * Tests read the endpoints with `inject('stackEnv')`; what this run started, it stops and wipes.
 */
import type { TestProject } from 'vitest/node';
import type { StackMode } from '../infra/stack/acquire.ts';
import { endpointsAsEnv } from '../infra/stack/endpoints.ts';
import { acquireScratchStack } from './helpers/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
    stackMode: StackMode;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await acquireScratchStack();
  console.error(`[stack] ${stack.mode}: ${JSON.stringify(endpointsAsEnv(stack.endpoints))}`);
  project.provide('stackEnv', endpointsAsEnv(stack.endpoints));
  project.provide('stackMode', stack.mode);
  return () => stack.release();
}
