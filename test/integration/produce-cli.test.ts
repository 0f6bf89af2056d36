/**
 * `journey produce --file` as a user runs it: a child process with the stack's endpoints in its
 * environment, reporting counts and every rejection by line, valid lines landing in Kafka.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../services/common/kafka.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { npsResponse, pageView, readEvents } from '../helpers/events.ts';

const run = promisify(execFile);
const JOURNEY = path.resolve(import.meta.dirname, '../../services/cli/journey.ts');

describe('journey produce --file', () => {
  it('sends the valid lines and reports each rejected one with its line number', async () => {
    const prefix = `${uniqueName('cli')}.`;
    const config = testConfig({ TOPIC_PREFIX: prefix });
    const valid = [pageView(), npsResponse(3), pageView({ customer_id: null, anonymous_id: 'anon-9' })];
    const invalid = npsResponse(-1);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'journey-produce-')), 'events.ndjson');
    writeFileSync(
      file,
      [JSON.stringify(valid[0]), '{oops', JSON.stringify(valid[1]), '', JSON.stringify(invalid), JSON.stringify(valid[2])].join('\n'),
    );

    const result = await run(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', JOURNEY, 'produce', '--file', file, '--batch', '2'],
      {
        env: { ...process.env, ...inject('stackEnv'), TOPIC_PREFIX: prefix },
      },
    ).catch((error: unknown) => error as { code: number; stdout: string });

    expect(result).toMatchObject({ code: 3 });
    expect((result as { stdout: string }).stdout.split('\n')).toEqual([
      'accepted 3, rejected 2',
      expect.stringMatching(/^line 2: \(event\): not JSON: /) as unknown,
      `line 5 (${String(invalid.event_id)}): properties.score: nps score must be 0–10, got -1`,
      '',
    ]);
    const landed = await readEvents(
      createKafka(config.kafka, undefined),
      createRegistry(config.registry),
      topicsFor(prefix).events.name,
      3,
    );
    expect(landed.map((e) => e.event_id).sort()).toEqual(valid.map((e) => e.event_id).sort());
  });
});
