/**
 * The collector's HTTP edge under abuse: what a client without a key, a slow or lying client, or
 * a flood of connections or probes costs it. The event sink is a stand-in: Kafka is not involved.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { handleEvents, startCollector, type RunningCollector } from './collector.ts';

const KEY = 'collector-test-key-0123456789';
const settings = loadConfig({
  COLLECTOR_API_KEYS: KEY,
  COLLECTOR_PORT: '0',
  COLLECTOR_HEADERS_TIMEOUT_MS: '1000',
  COLLECTOR_REQUEST_TIMEOUT_MS: '1500',
  COLLECTOR_MAX_CONNECTIONS: '20',
}).collector;

let running: RunningCollector | undefined;
let readinessChecks = 0;
async function collector(): Promise<{ host: string; port: number }> {
  readinessChecks = 0;
  running = await startCollector({
    settings,
    logger: createLogger('silent'),
    sink: { send: () => Promise.resolve({ accepted: 0, rejected: 0, results: [] }) },
    ready: () => {
      readinessChecks++;
      return Promise.resolve({ ready: true, dependencies: { kafka: 'up', registry: 'up' } });
    },
  });
  const url = new URL(running.url);
  return { host: url.hostname, port: Number(url.port) };
}
afterEach(async () => {
  await running?.close();
});

/** Resolves when the server closes the socket, with what it sent before. */
const closedBy = (socket: net.Socket) =>
  new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('close', () => {
      resolve(received);
    });
    socket.on('error', () => undefined);
  });

describe('the collector under abuse', () => {
  it('answers a keyless request at once, without reading its 200 MiB body', async () => {
    const { host, port } = await collector();
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        { host, port, path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (response) => {
          resolve(response.statusCode ?? 0);
          request.destroy();
        },
      );
      request.on('error', (error) => {
        if (sent === 0) reject(error);
      });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (sent < 200 * 1024 * 1024 && !request.destroyed) {
          sent += chunk.length;
          if (!request.write(chunk)) {
            request.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    expect(status).toBe(401);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a declared body over the limit before reading it', async () => {
    const { host, port } = await collector();
    const socket = net.connect(port, host);
    const answer = closedBy(socket);
    socket.write(
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${settings.maxBodyBytes + 1}\r\n\r\n[`,
    );
    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('drops a client that sends its headers too slowly, or less body than it declared', async () => {
    const { host, port } = await collector();
    const slow = net.connect(port, host);
    const slowClosed = closedBy(slow);
    slow.write('POST /v1/events HTTP/1.1\r\nHost: x\r\n');
    const lying = net.connect(port, host);
    const lyingClosed = closedBy(lying);
    lying.write(
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{}`,
    );
    // Both are closed by the server (408 or a bare close), well within the test's timeout.
    expect(await slowClosed).toMatch(/^(HTTP\/1\.1 408 |$)/);
    expect(await lyingClosed).toMatch(/^(HTTP\/1\.1 408 |$)/);
  });

  it('holds at most COLLECTOR_MAX_CONNECTIONS connections', async () => {
    const { host, port } = await collector();
    const sockets = Array.from({ length: 40 }, () => net.connect(port, host));
    const closed = sockets.map((socket) => closedBy(socket).then(() => socket));
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    const firstClosed = await Promise.race(closed);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stillOpen = sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open');
    expect(firstClosed.destroyed).toBe(true);
    expect(stillOpen.length).toBeLessThanOrEqual(20);
    for (const socket of sockets) socket.destroy();
  });

  it('asks Kafka and the registry at most once per 2 s, however often /readyz is probed', async () => {
    const { host, port } = await collector();
    const answers: number[] = [];
    // Ten at a time: the connection cap of this test's collector is 20.
    for (let round = 0; round < 5; round++) {
      answers.push(...(await Promise.all(Array.from({ length: 10 }, () => fetch(`http://${host}:${port}/readyz`).then((r) => r.status)))));
    }
    expect([answers.length, new Set(answers), readinessChecks]).toEqual([50, new Set([200]), 1]);
  });
});

describe('the collector with Kafka gone', () => {
  it('answers 503 once Kafka has not acknowledged in COLLECTOR_KAFKA_TIMEOUT_MS, never 202', async () => {
    const patient = loadConfig({ COLLECTOR_KAFKA_TIMEOUT_MS: '100' }).collector;
    const frozen = { send: () => new Promise<never>(() => undefined) };
    const reply = await handleEvents(Buffer.from('[{"type":"page_view"}]'), { settings: patient, sink: frozen });
    expect({ status: reply.status, retryAfter: reply.headers?.['retry-after'], error: reply.body.error }).toEqual({
      status: 503,
      retryAfter: '5',
      error: 'events could not be stored (Kafka unavailable); none were accepted, retry the request',
    });
  });
});
