/**
 * The native launcher's promises: a taken port fails fast naming the port and its setting;
 * `up` twice is a no-op; `down` leaves no process of ours behind.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../services/common/config.ts';
import { NativeStack } from '../../infra/stack/native.ts';
import { processesMarkedWith } from '../../infra/stack/processes.ts';

async function takeAPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, release: () => new Promise((resolve) => server.close(() => { resolve(); })) };
}

// Fixed ports below Linux's ephemeral range (32768+), where no outgoing connection can hold them.
function stackIn(dir: string, ports: { kafka: number; controller: number; registry: number; management: number }): NativeStack {
  return new NativeStack(
    loadConfig({
      ...process.env,
      STACK_DIR: dir,
      STACK_KAFKA_PORT: String(ports.kafka),
      STACK_KAFKA_CONTROLLER_PORT: String(ports.controller),
      STACK_REGISTRY_PORT: String(ports.registry),
      STACK_REGISTRY_MANAGEMENT_PORT: String(ports.management),
    }).stack,
  );
}

describe('native stack launcher', () => {
  it('refuses at once, naming the port and its setting, when a port is taken', async () => {
    const taken = await takeAPort();
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'journeyline-stack-'));
      const stack = stackIn(dir, { kafka: taken.port, controller: 29_193, registry: 29_181, management: 29_182 });
      const began = Date.now();
      await expect(stack.up()).rejects.toThrow(
        `port ${taken.port} for Kafka is already in use on 127.0.0.1 (EADDRINUSE); set STACK_KAFKA_PORT to a free port`,
      );
      expect(Date.now() - began).toBeLessThan(5_000);
      expect(processesMarkedWith(dir)).toEqual([]);
    } finally {
      await taken.release();
    }
  });

  // Needs Java and the Maven artifacts, which only the native path provides.
  describe.runIf(inject('stackMode') === 'native')('lifecycle', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'journeyline-stack-'));
    const stack = stackIn(dir, { kafka: 29_192, controller: 29_193, registry: 29_181, management: 29_182 });
    afterAll(async () => {
      await stack.down();
    });

    it('starts healthy, treats a second up as a no-op, and stops every process it started', async () => {
      const first = await stack.up();
      expect(first.started).toBe(true);
      expect((await stack.status()).map((c) => [c.name, c.healthy])).toEqual([
        ['kafka', true],
        ['registry', true],
      ]);
      expect(processesMarkedWith(dir)).toHaveLength(2);

      const began = Date.now();
      const second = await stack.up();
      expect(second).toEqual({ started: false, endpoints: first.endpoints });
      expect(Date.now() - began).toBeLessThan(5_000);

      expect(await stack.down()).toEqual({ stopped: 2 });
      expect(processesMarkedWith(dir)).toEqual([]);
      expect((await stack.status()).map((c) => [c.name, c.alive])).toEqual([
        ['kafka', false],
        ['registry', false],
      ]);
    });
  });
});
