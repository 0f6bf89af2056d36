/**
 * Ctrl-C while `journey start` is still starting — the stack's JVMs coming up, or the services —
 * stops what it started, the stack included: no process is left behind, and the exit is clean.
 * Each run starts a native stack of its own (the suites' shared one must not be stopped).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { processesMarkedWith, stopProcesses } from '../../infra/stack/processes.ts';
import { pollUntil, withinDeadline } from '../../services/common/poll.ts';
import { freePort } from '../helpers/net.ts';
import { privateStackEnv } from '../helpers/stack.ts';
import { exited, startJourney } from '../helpers/pipeline.ts';

/** `journey start` on a native stack of its own, with every port free; `log` holds what it says. */
async function startOwnProduct(log: string[]) {
  const [stackEnv, collector, query, dashboard] = await Promise.all([privateStackEnv('interrupted'), freePort(), freePort(), freePort()]);
  const product = startJourney(
    ['start'],
    {
      // Blank endpoints: the launcher decides, as on a developer's machine.
      KAFKA_BROKERS: '',
      SCHEMA_REGISTRY_URL: '',
      CLICKHOUSE_URL: '',
      ...stackEnv,
      COLLECTOR_PORT: String(collector),
      QUERY_PORT: String(query),
      DASHBOARD_PORT: String(dashboard),
      CHDB_PATH: mkdtempSync(path.join(tmpdir(), 'journeyline-interrupted-chdb-')),
    },
    { push: (line) => log.push(line) },
  );
  return { product, stackDir: stackEnv.STACK_DIR };
}

async function interruptWhen(said: RegExp): Promise<{ code: number | null; left: number[]; log: string }> {
  const log: string[] = [];
  const { product, stackDir } = await startOwnProduct(log);
  try {
    await pollUntil(() => Promise.resolve(said.test(log.join('')) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 50,
      what: `journey start to say ${String(said)}`,
      giveUpIf: () => (product.exitCode !== null ? `it exited ${String(product.exitCode)}: ${log.join('').slice(-2000)}` : undefined),
    });
    product.kill('SIGINT');
    await withinDeadline(exited(product), 150_000, 'journey start stopping after SIGINT');
    return { code: product.exitCode, left: processesMarkedWith(stackDir), log: log.join('') };
  } finally {
    product.kill('SIGKILL');
    // What a failed run left behind must not outlive the test.
    await stopProcesses(processesMarkedWith(stackDir), 5_000);
  }
}

describe.skipIf(inject('stackMode') !== 'native')('Ctrl-C during journey start', () => {
  it('while the stack starts: the stack is stopped once up, nothing is left running', { timeout: 300_000 }, async () => {
    const { code, left, log } = await interruptWhen(/starting Kafka \(pid/);
    expect({ code, left }, log.slice(-3000)).toEqual({ code: 0, left: [] });
  });

  it('while the services start: those started are stopped, then the stack', { timeout: 300_000 }, async () => {
    const { code, left, log } = await interruptWhen(/the schema registry at .* answers/);
    expect({ code, left }, log.slice(-3000)).toEqual({ code: 0, left: [] });
  });
});
