/**
 * `journey generate` as a user runs it: history only (--rate 0), through the producer library.
 * What it reports accepted is what lands on the events topic (plus the raw poison records it adds
 * for the dead-letter path); what it reports rejected was refused at the edge.
 */
import { describe, expect, it } from 'vitest';
import { topicsFor } from '../../schemas/topics.ts';
import { createKafka, topicOffsets } from '../../services/common/kafka.ts';
import { testConfig } from '../helpers/config.ts';
import { runJourney } from '../helpers/pipeline.ts';

describe('journey generate', () => {
  it('sends days of history, reports what was accepted and rejected, and stops when done', { timeout: 120_000 }, async () => {
    const config = testConfig();
    const run = await runJourney(['generate', '--days', '3', '--rate', '0', '--customers', '400', '--seed', '9'], {
      TOPIC_PREFIX: config.topicPrefix,
    });
    expect(run.code).toBe(0);
    const last = run.stderr.trim().split('\n').at(-1) ?? '';
    const match = /^done: sent (\d+), accepted (\d+), rejected (\d+)/.exec(last);
    expect(match, last).not.toBeNull();
    const [sent, accepted, rejected] = (match ?? []).slice(1).map(Number) as [number, number, number];
    expect(sent).toBe(accepted + rejected);
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(0);
    const onTopic = (await topicOffsets(createKafka(config.kafka, undefined), topicsFor(config.topicPrefix).events.name)).reduce(
      (sum, p) => sum + Number(p.high - p.low),
      0,
    );
    // An event sent twice within one batch is accepted once (the producer marks it a duplicate);
    // raw poison adds one record per 20 batches of 500.
    expect(onTopic).toBeGreaterThanOrEqual(Math.floor(accepted * 0.97));
    expect(onTopic).toBeLessThanOrEqual(accepted + Math.ceil(sent / 500 / 20) + 1);
  });

  it('names the option that is wrong', async () => {
    const run = await runJourney(['generate', '--days', 'many'], { TOPIC_PREFIX: testConfig().topicPrefix });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--days: /);
  });
});
