/**
 * `journey produce --file` as a user runs it: a child process with the stack's endpoints in its
 * environment, reporting counts and every rejection by line, valid lines landing in Kafka.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../services/common/kafka.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { npsResponse, pageView } from '../helpers/events.ts';
import { readEvents } from '../helpers/streams.ts';
import { runJourney } from '../helpers/pipeline.ts';

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

    const result = await runJourney(['produce', '--file', file, '--batch', '2'], { TOPIC_PREFIX: prefix });

    expect(result).toMatchObject({ code: 3 });
    expect(result.stdout.split('\n')).toEqual([
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
