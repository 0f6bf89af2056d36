#!/usr/bin/env node
/**
 * `journey` — the command line: `start` brings the stack up (the same decision the tests use)
 * and runs the product until Ctrl-C. Exit codes: 0 done, 1 failed, 2 bad usage or configuration.
 */
import { ConfigError, loadConfig } from '../common/config.ts';
import { acquireStack } from '../../infra/stack/acquire.ts';
import { endpointsAsEnv } from '../../infra/stack/endpoints.ts';

const say = (line: string) => {
  console.error(line);
};

const USAGE = `usage: journey <command>
  start     bring up Kafka, the schema registry and ClickHouse, then run until Ctrl-C`;

function untilSignal(): Promise<NodeJS.Signals> {
  // A pending promise alone does not keep Node running; this timer does, until a signal comes.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      resolve(signal);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function start(): Promise<number> {
  const config = loadConfig();
  const stack = await acquireStack(config, process.env, say);
  try {
    say(`stack (${stack.mode}${stack.started ? ', started by this process' : ', already running'}):`);
    for (const [key, value] of Object.entries(endpointsAsEnv(stack.endpoints))) say(`  ${key}=${value}`);
    if (stack.endpoints.clickhouseUrl === undefined) say(`  ClickHouse: embedded (chDB) at ${config.clickhouse.chdbPath}`);
    say('running; Ctrl-C to stop');
    const signal = await untilSignal();
    say(`${signal}: stopping`);
    return 0;
  } finally {
    await stack.release();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  switch (argv[0]) {
    case 'start':
      return start();
    default:
      say(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  },
);
