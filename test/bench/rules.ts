/**
 * The processor's ceiling without Kafka: `npm run bench:rules [-- --customers 100000 --steps 4]`.
 *
 * The same workload as bench:processor, Avro-encoded in the Confluent wire format once, then timed
 * through the processor's per-batch work in memory (rules-ceiling.ts). The live heap after a full
 * GC, with the state held, is the state's size per customer.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { rulesCeiling } from './rules-ceiling.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    steps: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2000' },
  },
});

rulesCeiling({ customers: Number(values.customers), steps: Number(values.steps), batchSize: Number(values.batch) }).then(
  (result) => {
    const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
    console.log(JSON.stringify({ machine, ...result }, null, 2));
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
