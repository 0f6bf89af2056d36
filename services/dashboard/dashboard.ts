/**
 * The dashboard: a page (web/, Chart.js served from node_modules, nothing from a CDN) and the JSON
 * it reads, from ClickHouse through the read-only query path only (read-only-client.ts) and from
 * Kafka for the live panel (pipeline-gauges.ts).
 *
 * Defences: the Host header must name this server (DNS rebinding); the data needs a session, which
 * the sign-in link (`/?token=…`, printed by `journey start`) or `Authorization: Bearer` opens; the
 * session cookie is HttpOnly, SameSite=Strict and signed with a key of this process, so the token
 * never sits in the browser; a Content-Security-Policy allows only this server's own scripts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { closeServer, createLimitedServer, hostMatcher, listen, presentedSecret, secretMatcher } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import {
  ALERTS_SQL,
  alertsOf,
  AT_RISK_SQL,
  FUNNEL_SQL,
  funnelOf,
  KPIS_SQL,
  kpisOf,
  META_SQL,
  metaOf,
  parsePanelRequest,
  rangeParams,
  type PanelRequest,
} from './panels.ts';
import { startPipelineGauges, type RunningGauges } from './pipeline-gauges.ts';
import { readOnlyRows } from './read-only-client.ts';

export interface RunningDashboard {
  readonly url: string;
  /** The link that opens a session: the URL with a token. */
  readonly signInUrl: string;
  readonly died: Promise<Error>;
  close(): Promise<void>;
}

const WEB = path.join(import.meta.dirname, 'web');
const SESSION_COOKIE = 'journeyline_session';
const SESSION_HOURS = 12;
/** Panels asked for again within this are answered from the last answer: ten open tabs cost one query. */
const ANSWER_TTL_MS = 2_000;
const QUERY_TIMEOUT_MS = 30_000;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
}

/** The page's files, read once: nothing under web/ is looked up by a path the request names. */
function staticFiles(): ReadonlyMap<string, StaticFile> {
  const chartJs = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  const file = (full: string, type: string): StaticFile => ({ body: readFileSync(full), type });
  return new Map([
    ['/app.js', file(path.join(WEB, 'app.js'), 'text/javascript; charset=utf-8')],
    ['/i18n.js', file(path.join(WEB, 'i18n.js'), 'text/javascript; charset=utf-8')],
    ['/style.css', file(path.join(WEB, 'style.css'), 'text/css; charset=utf-8')],
    ['/vendor/chart.umd.min.js', file(chartJs, 'text/javascript; charset=utf-8')],
  ]);
}

class BadRequest extends Error {}

/** Signed session cookies: `<issued ms>.<HMAC>` under a key that lives as long as this process. */
function sessions() {
  const key = randomBytes(32);
  const sign = (issued: string) => createHmac('sha256', key).update(issued).digest('base64url');
  return {
    issue: () => {
      const issued = String(Date.now());
      return `${SESSION_COOKIE}=${issued}.${sign(issued)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${String(SESSION_HOURS * 3600)}`;
    },
    valid: (request: IncomingMessage) => {
      const cookie = (request.headers.cookie ?? '')
        .split(';')
        .map((part) => part.trim())
        .find((part) => part.startsWith(`${SESSION_COOKIE}=`));
      const [issued = '', signature = ''] = (cookie?.slice(SESSION_COOKIE.length + 1) ?? '').split('.');
      const expected = Buffer.from(sign(issued));
      const presented = Buffer.from(signature);
      return (
        /^\d{1,15}$/.test(issued) &&
        Date.now() - Number(issued) < SESSION_HOURS * 3_600_000 &&
        presented.length === expected.length &&
        timingSafeEqual(presented, expected)
      );
    },
  };
}

/** Identical asks within ANSWER_TTL_MS share one answer (and one query while it runs). */
function answerCache() {
  const answers = new Map<string, { readonly at: number; readonly value: Promise<unknown> }>();
  // A key always names the same computation, so a hit has the type its caller computes.
  return <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const now = Date.now();
    const hit = answers.get(key);
    if (hit !== undefined && now - hit.at < ANSWER_TTL_MS) return hit.value as Promise<T>;
    if (answers.size > 500) answers.clear();
    const value = compute();
    answers.set(key, { at: now, value });
    value.catch(() => answers.delete(key));
    return value;
  };
}

const SIGN_IN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>journeyline</title>
<link rel="stylesheet" href="/style.css"></head><body><main class="sign-in"><h1>journeyline</h1>
<p>Open the dashboard with the link <code>journey start</code> printed (it ends in <code>?token=…</code>),
or with <code>/?token=</code> and one of <code>DASHBOARD_API_KEYS</code>.</p>
<p dir="rtl" lang="fa">داشبورد را با پیوندی که <code>journey start</code> چاپ کرد باز کنید.</p></main></body></html>`;

type DashboardOptions = { readonly config: Config; readonly kafka: Kafka; readonly logger: Logger };

const json = (response: ServerResponse, status: number, body: unknown) => {
  response
    .writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
};

/** The dashboard while it runs: its page and files, who is signed in, its panels and the live gauges. */
class Dashboard {
  private readonly config: Config;
  private readonly settings: Config['dashboard'];
  private readonly logger: Logger;
  private readonly tokenMatches: (presented: string | undefined) => boolean;
  private readonly files = staticFiles();
  private readonly page = readFileSync(path.join(WEB, 'index.html'));
  private readonly session = sessions();
  private readonly cached = answerCache();
  private readonly gauges: RunningGauges;
  private readonly panels: Readonly<Record<string, (request: PanelRequest) => Promise<unknown>>>;
  /** Known once the server listens (the port may be chosen then): until then every host is refused. */
  private hostAllowed: ((host: string | undefined) => boolean) | undefined;

  constructor(options: DashboardOptions, gauges: RunningGauges) {
    this.config = options.config;
    this.settings = options.config.dashboard;
    this.logger = options.logger;
    this.tokenMatches = secretMatcher(this.settings.apiKeys);
    this.gauges = gauges;
    this.panels = this.panelsOf();
  }

  listeningOn(port: number): void {
    this.hostAllowed = hostMatcher(this.settings.host, this.settings.allowedHosts, port);
  }

  /** What each panel asks ClickHouse (panels.ts), through the read-only path. */
  private panelsOf(): Readonly<Record<string, (request: PanelRequest) => Promise<unknown>>> {
    const { config, settings, cached } = this;
    const rows = (sql: string, params: Readonly<Record<string, string>>) =>
      readOnlyRows(config, sql, params, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    const panelParams = (request: PanelRequest, timeZone: string) => ({
      segment: request.segment,
      window: request.window,
      time_zone: timeZone,
      stuck_days: String(settings.stuckAfterDays),
      ...rangeParams(request),
    });
    // The funnel needs the reporting time zone the page's meta just read: one query serves both.
    const meta = () => cached('meta', async () => metaOf(await rows(META_SQL, {}), config.processor.timeZone));
    return {
      meta: async () => ({ ...(await meta()), refreshS: settings.refreshS, stuckAfterDays: settings.stuckAfterDays }),
      funnel: async (request) => {
        const { timeZone } = await meta();
        const [row] = await rows(FUNNEL_SQL, panelParams(request, timeZone));
        return funnelOf(row ?? {}, settings.stuckAfterDays);
      },
      kpis: async (request) => ({ window: Number(request.window), days: kpisOf(await rows(KPIS_SQL, panelParams(request, ''))) }),
      alerts: async (request) => {
        const params = panelParams(request, '');
        const [alerts, atRisk] = await Promise.all([rows(ALERTS_SQL, params), rows(AT_RISK_SQL, params)]);
        return alertsOf(alerts, atRisk);
      },
    };
  }

  private async api(name: string, url: URL, response: ServerResponse): Promise<void> {
    if (name === 'live') {
      json(response, 200, this.gauges.read());
      return;
    }
    const panel = this.panels[name];
    if (panel === undefined) {
      json(response, 404, { error: `no panel ${name}; known: ${[...Object.keys(this.panels), 'live'].join(', ')}` });
      return;
    }
    const request = parsePanelRequest(url.searchParams);
    if ('error' in request) throw new BadRequest(request.error);
    json(response, 200, await this.cached(`${name}?${JSON.stringify(request)}`, () => panel(request)));
  }

  /** The page, signed in or not: a token in the address is traded for a session cookie and leaves it at once. */
  private servePage(url: URL, response: ServerResponse, signedIn: boolean): void {
    const offered = url.searchParams.get('token');
    if (offered !== null) {
      const ok = this.tokenMatches(offered);
      url.searchParams.delete('token');
      response
        .writeHead(ok ? 303 : 401, {
          ...SECURITY_HEADERS,
          ...(ok ? { location: `/${url.search}`, 'set-cookie': this.session.issue() } : { 'content-type': 'text/html; charset=utf-8' }),
        })
        .end(ok ? '' : SIGN_IN_PAGE);
      return;
    }
    response
      .writeHead(signedIn ? 200 : 401, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
      .end(signedIn ? this.page : SIGN_IN_PAGE);
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!(this.hostAllowed ?? (() => false))(request.headers.host)) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('Host is not this dashboard (DASHBOARD_ALLOWED_HOSTS)\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (url.pathname === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (url.pathname === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const file = this.files.get(url.pathname);
    if (file !== undefined) {
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'cache-control': 'no-cache' }).end(file.body);
      return;
    }
    const signedIn = this.session.valid(request) || this.tokenMatches(presentedSecret(request));
    if (url.pathname === '/') {
      this.servePage(url, response, signedIn);
      return;
    }
    const apiName = /^\/api\/([a-z]+)$/.exec(url.pathname)?.[1];
    if (apiName === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!signedIn) {
      json(response, 401, { error: 'sign in: open the link journey start printed, or send Authorization: Bearer <DASHBOARD_API_KEYS>' });
      return;
    }
    await this.api(apiName, url, response);
  }

  /** A request that failed: a bad one is the caller's (400), anything else ClickHouse's (502, logged). */
  fail(error: unknown, request: IncomingMessage, response: ServerResponse): void {
    const bad = error instanceof BadRequest;
    const message = error instanceof Error ? error.message : String(error);
    if (!bad) this.logger.warn({ event: 'dashboard.panel_failed', path: request.url?.split('?')[0], err: error }, 'a panel failed');
    if (response.headersSent) response.end();
    else json(response, bad ? 400 : 502, { error: bad ? message : `ClickHouse did not answer: ${message}` });
  }
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const settings = options.config.dashboard;
  const token = settings.apiKeys[0];
  if (token === undefined) throw new Error('the dashboard needs a token to open it: set DASHBOARD_API_KEYS (journey start makes one)');
  const gauges = await startPipelineGauges(
    options.kafka,
    options.config.topicPrefix,
    options.logger,
    options.config.kafka.outageToleranceMs,
  );
  const dashboard = new Dashboard(options, gauges);
  const server = createLimitedServer(
    { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 10_000, maxConnections: 256 },
    (request, response) => {
      dashboard.handle(request, response).catch((error: unknown) => {
        dashboard.fail(error, request, response);
      });
    },
  );
  let port: number;
  try {
    port = await listen(server, settings.port, settings.host);
  } catch (error: unknown) {
    await gauges.stop();
    throw error;
  }
  dashboard.listeningOn(port);
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${String(port)}`;
  return {
    url,
    signInUrl: `${url}/?token=${encodeURIComponent(token)}`,
    died: gauges.died,
    close: async () => {
      await closeServer(server);
      await gauges.stop();
    },
  };
}
