/**
 * The fault suite's short run (test/faults/suite.ts; the long one is `npm run faults`, its figures
 * in docs/reliability.md): the broker SIGKILLed and started again, then the processor, the sink and
 * the collector each SIGKILLed mid-stream, under a retrying client's traffic. Every acknowledged
 * event is stored once, the processor's outputs equal an uninterrupted run's, and nothing stopped
 * on its own. It runs on a native stack of its own: the suites' shared broker must not go down.
 */
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runFaultSuite } from '../faults/suite.ts';

describe.skipIf(inject('stackMode') !== 'native')('the product under faults (short run)', () => {
  it('loses nothing, counts nothing twice and stops for nothing', { timeout: 360_000 }, async () => {
    const report = await runFaultSuite({
      faults: ['kafka-kill', 'processor-kill', 'sink-kill', 'collector-kill'],
      repeat: 1,
      gapS: 8,
      downS: 15,
      kafkaFreezeS: 0,
      registryFreezeS: 0,
      // About 100 s of traffic at 60 events/s: it runs through every fault.
      rate: 60,
      customers: 700,
      days: 6,
      seed: 7,
      logDir: path.resolve('.journeyline/test-logs/faults'),
    });
    expect({
      lost: report.lost,
      duplicated: report.duplicated,
      deadLetters: report.deadLetters,
      unexpectedExits: report.unexpectedExits,
      differences: report.differences,
      acknowledged: report.client.acknowledged,
    }).toEqual({ lost: 0, duplicated: 0, deadLetters: 0, unexpectedExits: [], differences: [], acknowledged: report.events });
    // Each fault was ridden out while traffic flowed: the pipeline counted again after it.
    expect(report.runs.map((run) => [run.fault, run.countingAgainS !== null])).toEqual([
      ['kafka-kill', true],
      ['processor-kill', true],
      ['sink-kill', true],
      ['collector-kill', true],
    ]);
  });
});
