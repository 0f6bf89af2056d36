/**
 * The native launcher's promises: a taken port fails fast naming the port and its setting;
 * `up` twice is a no-op; `down` leaves no process of ours behind; messages and the schemas they
 * were written with survive `down`/`up` together, and `reset` forgets both.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { loadConfig } from '../../services/common/config.ts';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { consumeN } from '../helpers/kafka.ts';
import { NativeStack } from '../../infra/stack/native.ts';
import { processesMarkedWith } from '../../infra/stack/processes.ts';

async function takeAPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    release: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

// Fixed ports below Linux's ephemeral range (32768+), where no outgoing connection can hold them.
function configIn(dir: string, ports: { kafka: number; controller: number; registry: number; management: number }) {
  return loadConfig({
    ...process.env,
    STACK_DIR: dir,
    STACK_KAFKA_PORT: String(ports.kafka),
    STACK_KAFKA_CONTROLLER_PORT: String(ports.controller),
    STACK_REGISTRY_PORT: String(ports.registry),
    STACK_REGISTRY_MANAGEMENT_PORT: String(ports.management),
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
    KAFKA_TOPIC_PARTITIONS: '1',
  });
}

const stackIn = (dir: string, ports: Parameters<typeof configIn>[1]): NativeStack => new NativeStack(configIn(dir, ports).stack);

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
      await stack.reset();
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

    it('keeps messages and their schemas across down and up, and forgets both on reset', async () => {
      const config = configIn(dir, { kafka: 29_192, controller: 29_193, registry: 29_181, management: 29_182 });
      const topic = { name: 'persisted', compacted: false };
      await stack.up();
      const registry = createRegistry(config.registry);
      const { id } = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Kept', fields: [{ name: 'n', type: 'int' }] }) },
        { subject: 'persisted-value' },
      );
      const kafka = createKafka(config.kafka, undefined);
      await ensureTopics(kafka, config.kafka, [topic]);
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      await producer.send({ topic: topic.name, acks: -1, messages: [{ key: 'k', value: await registry.encode(id, { n: 42 }) }] });
      await producer.disconnect();
      await stack.down();

      expect((await stack.up()).started).toBe(true);
      const [kept] = await consumeN(createKafka(config.kafka, undefined), topic.name, 1);
      expect(await createRegistry(config.registry).decode(kept?.value ?? Buffer.alloc(0))).toEqual({ n: 42 });

      await stack.reset();
      await stack.up();
      const admin = createKafka(config.kafka, undefined).admin();
      await admin.connect();
      expect(await admin.listTopics()).not.toContain(topic.name);
      await admin.disconnect();
      await expect(createRegistry(config.registry).getSchema(id)).rejects.toThrow();
    });
  });
});
