/**
 * The processor's ceiling without Kafka: `npm run bench:rules [-- --customers 100000 --steps 4]`.
 *
 * The same workload as bench:processor, Avro-encoded in the Confluent wire format once, then timed
 * through the processor's per-batch work in memory (rules-ceiling.ts). The live heap after a full
 * GC, with the state held, is the state's size per customer. `--busy` runs the same events a
 * second time as one customer's, in the same process, and reports the rate of the two.
 * `--far-ahead-every N`: the days after tomorrow go out with every Nth batch and are held between
 * (PROCESSOR_FAR_AHEAD_EVERY_MS: at live rates a second is several of a partition's batches).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { rulesCeiling } from './rules-ceiling.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    steps: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2000' },
    'far-ahead-every': { type: 'string', default: '1' },
    busy: { type: 'boolean', default: false },
  },
});
const options = {
  customers: Number(values.customers),
  steps: Number(values.steps),
  batchSize: Number(values.batch),
  farAheadEvery: Number(values['far-ahead-every']),
};

async function main() {
  const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
  const result = await rulesCeiling(options);
  if (!values.busy) return { machine, ...result };
  // Interleaved, best of two each: neither side gets the warmer JIT.
  const oneCustomer = await rulesCeiling({ ...options, oneCustomer: true });
  const many = [result, await rulesCeiling(options)];
  const one = [oneCustomer, await rulesCeiling({ ...options, oneCustomer: true })];
  const best = (runs: typeof many) => runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
  const [bestMany, bestOne] = [best(many), best(one)];
  // The heap of the first run: later ones also hold what earlier runs left in module caches.
  return {
    machine,
    ...result,
    eventsPerSecond: bestMany.eventsPerSecond,
    seconds: bestMany.seconds,
    oneCustomer: { ...bestOne, toManyCustomers: +(bestOne.eventsPerSecond / bestMany.eventsPerSecond).toFixed(2) },
  };
}

main().then(
  (result) => {
    console.log(JSON.stringify(result, null, 2));
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
