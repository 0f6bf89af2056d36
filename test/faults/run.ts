/**
 * `npm run faults [-- --faults kafka-kill,sink-kill --repeat 2 --gap-s 20 --rate 100 --customers 7500]`:
 * the fault suite (suite.ts) on a native stack of its own; one JSON report on stdout, the services'
 * logs under .journeyline/faults/. Exit 1 when an invariant failed. The defaults are the long run
 * docs/reliability.md reports: every fault twice.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_NAMES, type FaultName } from './faults.ts';
import { runFaultSuite } from './suite.ts';

const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: FAULT_NAMES.join(',') },
    repeat: { type: 'string', default: '2' },
    'gap-s': { type: 'string', default: '20' },
    'down-s': { type: 'string', default: '25' },
    'kafka-freeze-s': { type: 'string', default: '30' },
    'registry-freeze-s': { type: 'string', default: '60' },
    rate: { type: 'string', default: '100' },
    customers: { type: 'string', default: '7500' },
    days: { type: 'string', default: '6' },
    seed: { type: 'string', default: '7' },
  },
});

const faults = values.faults.split(',').map((name) => name.trim());
const unknown = faults.filter((name) => !(FAULT_NAMES as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULT_NAMES.join(', ')}`);
  process.exit(2);
}

const began = new Date().toISOString();
runFaultSuite(
  {
    faults: faults as FaultName[],
    repeat: Number(values.repeat),
    gapS: Number(values['gap-s']),
    downS: Number(values['down-s']),
    kafkaFreezeS: Number(values['kafka-freeze-s']),
    registryFreezeS: Number(values['registry-freeze-s']),
    rate: Number(values.rate),
    customers: Number(values.customers),
    days: Number(values.days),
    seed: Number(values.seed),
    logDir: path.resolve('.journeyline/faults'),
  },
  (line) => {
    console.error(`[faults] ${line}`);
  },
).then(
  (report) => {
    const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
    console.log(JSON.stringify({ began, machine, options: values, ...report }, null, 2));
    const failed =
      report.lost !== 0 ||
      report.duplicated !== 0 ||
      report.deadLetters !== 0 ||
      report.unexpectedExits.length > 0 ||
      report.differences.length > 0;
    process.exit(failed ? 1 : 0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
