/**
 * What every journeyline HTTP server needs against hostile clients, in one place: credentials
 * checked in constant time before any body is read, bodies read only up to a limit, and servers
 * that drop slow, lying or idle connections and cap how many they hold.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class BodyTooLarge extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`body is larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
    this.limit = limit;
  }
}

/**
 * Reads a request body, refusing at once a declared length over `limit` and stopping at the
 * first byte past it: nothing beyond the limit is ever buffered.
 */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** Constant-time over the key set, so response timing does not leak key prefixes. */
export function secretMatcher(keys: readonly string[]): (presented: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (presented) => {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let match = false;
    for (const known of digests) match = timingSafeEqual(known, candidate) || match;
    return match;
  };
}

/**
 * The secret a request presents: `Authorization: Bearer <secret>`, or the password of
 * `Authorization: Basic` (what ClickHouse clients send for a user and password).
 */
export function presentedSecret(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer !== undefined) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization)?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** `Authorization: Basic …` for a user and password. */
export const basicAuthorization = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

export interface ConnectionLimits {
  /** The whole request line and headers must arrive within this. */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections held at once; more are refused by the kernel's backlog, not queued here. */
  readonly maxConnections: number;
}

/** An HTTP server that drops slow, lying and idle clients and holds at most `maxConnections`. */
export function createLimitedServer(limits: ConnectionLimits, handler: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks both timeouts on this interval; its 30 s default would let a slow client outlive a short timeout.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Whether a request's Host header names a server listening on `host:port` (against DNS rebinding:
 * a page on another site that resolves its name to 127.0.0.1 sends its own name). `allowedHosts`
 * (host:port, lower case) replaces the default: the address itself, and every loopback name when it
 * is a loopback address; a server on every interface answers any Host.
 */
export function hostMatcher(host: string, allowedHosts: readonly string[], port: number): (value: string | undefined) => boolean {
  if (allowedHosts.length === 0 && (host === '0.0.0.0' || host === '::')) return () => true;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const names =
    allowedHosts.length > 0
      ? allowedHosts
      : (LOOPBACK_NAMES.includes(bracketed) ? LOOPBACK_NAMES : [bracketed.toLowerCase()]).map((name) => `${name}:${port}`);
  const allowed = new Set(names);
  return (value) => value !== undefined && allowed.has(value.toLowerCase());
}

/** Listens, resolving with the bound port, or rejecting with the listen error (a taken port). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, and ends every open connection (keep-alive ones included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
