import { describe, expect, it } from 'vitest';
import { ConfigError, endpointsGivenIn, loadConfig, redactedConfig, redactUrl } from './config.ts';

describe('loadConfig', () => {
  it('fills documented defaults from an empty environment', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'journeyline',
      ssl: false,
      sasl: undefined,
      topicPartitions: 6,
      replicationFactor: 1,
      outageToleranceMs: 300_000,
    });
    expect(config.collector).toEqual({
      host: '127.0.0.1',
      port: 8080,
      apiKeys: [],
      maxEvents: 500,
      maxBodyBytes: 1_048_576,
      kafkaTimeoutMs: 10_000,
      connections: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, maxConnections: 4096 },
    });
    expect(config.events).toEqual({ maxFutureSkewMs: 300_000, maxPastMs: 365 * 86_400_000 });
    expect(config.query).toEqual({
      host: '127.0.0.1',
      port: 8123,
      url: 'http://127.0.0.1:8123',
      apiKeys: [],
      tokenFile: '/srv/app/.journeyline/query-token',
      allowedHosts: [],
      limits: { maxExecutionS: 60, maxMemoryBytes: 2 * 1024 ** 3, maxResultBytes: 256 * 1024 ** 2, maxConcurrent: 2 },
    });
    expect(config.registry).toEqual({ url: 'http://127.0.0.1:8081/apis/ccompat/v7', auth: undefined });
    expect(config.clickhouse).toEqual({
      url: undefined,
      username: 'default',
      password: '',
      chdbPath: '/srv/app/.journeyline/chdb',
    });
    expect(config.stack.dir).toBe('/srv/app/.journeyline/stack');
  });

  it('parses lists, numbers and booleans, and treats blank variables as unset', () => {
    const config = loadConfig({ KAFKA_BROKERS: ' a:1, b:2 ,', KAFKA_SSL: 'true', STACK_KAFKA_PORT: '19092', CLICKHOUSE_URL: '' });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.kafka.ssl).toBe(true);
    expect(config.stack.kafkaPort).toBe(19092);
    expect(config.clickhouse.url).toBeUndefined();
  });

  it('reads what a conversion is: purchases by default, form types when named', () => {
    expect(loadConfig({}).processor.stage.conversions).toEqual({ purchase: true, forms: [] });
    expect(loadConfig({ CONVERSION_EVENTS: 'form:demo_request, purchase' }).processor.stage.conversions).toEqual({
      purchase: true,
      forms: ['demo_request'],
    });
    expect(() => loadConfig({ CONVERSION_EVENTS: 'form:webinar' })).toThrow(
      'CONVERSION_EVENTS="form:webinar": form:webinar is neither purchase nor form:<newsletter|contact|demo_request|signup|lead|support|other>',
    );
  });

  it('runs the processor on one thread unless told, and on no more than 64', () => {
    expect(loadConfig({}).processor.threads).toBe(1);
    expect(loadConfig({ PROCESSOR_THREADS: '2' }).processor.threads).toBe(2);
    for (const value of ['0', '-1', '1.5', 'two', '65']) {
      expect(() => loadConfig({ PROCESSOR_THREADS: value })).toThrow(`PROCESSOR_THREADS="${value}": `);
    }
  });

  it('names every invalid variable, and never echoes a secret', () => {
    const attempt = () =>
      loadConfig({ STACK_KAFKA_PORT: '70000', SCHEMA_REGISTRY_URL: 'not a url', KAFKA_SSL: 'maybe', REPORTING_TIME_ZONE: 'Mars/Olympus' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error: unknown) {
      expect((error as ConfigError).issues.map((issue) => issue.split(':')[0])).toEqual([
        'KAFKA_SSL="maybe"',
        'SCHEMA_REGISTRY_URL="not a url"',
        'REPORTING_TIME_ZONE="Mars/Olympus"',
        'STACK_KAFKA_PORT="70000"',
      ]);
    }
  });

  it('requires a user name with SASL and masks passwords when logged', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow('KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set');
    const config = loadConfig({
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'hunter2',
      CLICKHOUSE_PASSWORD: 'ch-secret',
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD: 'reg-secret',
      COLLECTOR_API_KEYS: 'key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb',
    });
    expect(config.collector.apiKeys).toEqual(['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']);
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toMatch(/hunter2|ch-secret|reg-secret|key-a|key-b/);
    expect(redactedConfig(config).kafka.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'svc', password: '***' });
  });

  it('masks credentials inside URLs, in the logged config and in errors', () => {
    const config = loadConfig({
      CLICKHOUSE_URL: 'https://analyst:ch-url-secret@ch.example:8443',
      SCHEMA_REGISTRY_URL: 'https://reg:reg-url-secret@registry.example/apis/ccompat/v7',
    });
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toMatch(/ch-url-secret|reg-url-secret|analyst/);
    expect(redactedConfig(config).clickhouse.url).toBe('https://***:***@ch.example:8443');
    expect(redactUrl('http://127.0.0.1:8081/apis')).toBe('http://127.0.0.1:8081/apis');
    expect(() =>
      loadConfig({ CLICKHOUSE_URL: 'https://u:ch-url-secret@ch.example:8443', KAFKA_SSL: 'maybe', COLLECTOR_PORT: 'x' }),
    ).toThrow(ConfigError);
    try {
      loadConfig({ QUERY_URL: 'ftp://u:query-url-secret@x:99999', KAFKA_SSL: 'maybe' });
    } catch (error: unknown) {
      expect(String(error)).not.toContain('query-url-secret');
    }
  });
});

describe('endpointsGivenIn', () => {
  it('needs both Kafka and the registry named', () => {
    expect(endpointsGivenIn({ KAFKA_BROKERS: 'k:9092' })).toBe(false);
    expect(endpointsGivenIn({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r' })).toBe(true);
  });

  it('reads alerting settings as JSON, naming the variable, the signal and the field that is wrong', () => {
    const config = loadConfig({
      ALERT_SIGNALS: '{"ces_mean":{"enabled":false},"detractor_share":{"minSample":50,"limit":0.2}}',
      ALERT_WEBHOOKS:
        '[{"name":"cs-team","url":"https://hooks.example/a","secret":"0123456789abcdef0"},{"name":"slack","url":"https://hooks.slack.com/services/T/B/x","format":"slack"}]',
    });
    expect(config.alerts.signals).toEqual({ ces_mean: { enabled: false }, detractor_share: { minSample: 50, limit: 0.2 } });
    expect(config.alerts.webhooks.map((w) => [w.name, w.format])).toEqual([
      ['cs-team', 'json'],
      ['slack', 'slack'],
    ]);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error: unknown) {
        return error instanceof ConfigError ? error.issues : [String(error)];
      }
    };
    expect(problems({ ALERT_SIGNALS: '{"churn":{}}' }).join()).toMatch(/^ALERT_SIGNALS=.*churn/);
    expect(problems({ ALERT_SIGNALS: '{"ces_mean":{"sigma":3}}' }).join()).toMatch(/ALERT_SIGNALS=.*: ces_mean: .*sigma/);
    expect(problems({ ALERT_SIGNALS: '{"ces_mean":{"alpha":2}}' }).join()).toMatch(/ALERT_SIGNALS=.*: ces_mean\.alpha: /);
    expect(problems({ ALERT_SIGNALS: '{not json' }).join()).toMatch(/ALERT_SIGNALS=.*not JSON/);
    // A webhook list is secret as a whole (URLs carry credentials): the value is never echoed.
    const webhookProblems = problems({ ALERT_WEBHOOKS: '[{"name":"a","url":"https://hooks.example/secret-path"}]' }).join();
    expect(webhookProblems).toMatch(/ALERT_WEBHOOKS=\(secret\): .*a json webhook needs a secret/);
    expect(webhookProblems).not.toContain('secret-path');
    expect(problems({ ALERT_WEBHOOKS: '[{"name":"a","url":"ftp://x/y","format":"slack"}]' }).join()).toMatch(
      /^ALERT_WEBHOOKS=\(secret\): 0\.url: /,
    );
  });

  it('keeps webhook URLs and secrets out of the redacted config', () => {
    const config = loadConfig({
      ALERT_WEBHOOKS: '[{"name":"slack","url":"https://hooks.slack.com/services/T/B/xyz","format":"slack","secret":"0123456789abcdef0"}]',
    });
    const shown = JSON.stringify(redactedConfig(config).alerts);
    expect(shown).toContain('https://hooks.slack.com/***');
    expect(shown).not.toMatch(/xyz|0123456789abcdef0/);
  });
});
