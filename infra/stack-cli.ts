/**
 * `npm run stack:fetch|up|down|reset|status` — the native stack by hand. Exit codes: 0 done, 1 failed
 * (the message says what and where its log is), 2 bad usage or configuration.
 */
import { rmSync } from 'node:fs';
import { ConfigError, loadConfig } from '../services/common/config.ts';
import { endpointsAsEnv } from './stack/endpoints.ts';
import { NativeStack } from './stack/native.ts';

const say = (line: string) => {
  console.error(line);
};

async function main(command: string | undefined): Promise<number> {
  const config = loadConfig();
  const stack = new NativeStack(config.stack);
  switch (command) {
    case 'fetch':
      await stack.fetch(say);
      say('native stack artifacts are cached');
      return 0;
    case 'up': {
      const began = Date.now();
      const { endpoints, started } = await stack.up(say);
      say(started ? `native stack ready in ${((Date.now() - began) / 1000).toFixed(1)} s` : 'native stack already running; nothing to do');
      for (const [key, value] of Object.entries(endpointsAsEnv(endpoints))) console.log(`${key}=${value}`);
      say(`ClickHouse: embedded (chDB) at ${config.clickhouse.chdbPath}, opened by the process that uses it`);
      return 0;
    }
    case 'down': {
      const { stopped } = await stack.down();
      say(stopped > 0 ? `stopped ${stopped} stack process(es); data kept in ${config.stack.dir}` : 'native stack was not running');
      return 0;
    }
    case 'reset': {
      const { stopped } = await stack.reset();
      // ClickHouse's rows came from that Kafka: they go with it, or a restarted processor would
      // start empty next to the previous run's tables.
      rmSync(config.clickhouse.chdbPath, { recursive: true, force: true });
      say(`stopped ${stopped} stack process(es); wiped Kafka, the registry and embedded ClickHouse (${config.clickhouse.chdbPath})`);
      return 0;
    }
    case 'status': {
      const components = await stack.status();
      for (const c of components) {
        const state = !c.alive ? 'stopped' : c.healthy ? 'healthy' : 'running, not answering';
        console.log(`${c.name.padEnd(9)} ${state.padEnd(22)} pid=${c.pid ?? '-'} ${c.endpoint}  log: ${c.log}`);
      }
      return components.every((c) => c.healthy) ? 0 : 1;
    }
    default:
      say('usage: node infra/stack-cli.ts fetch|up|down|reset|status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  },
);
