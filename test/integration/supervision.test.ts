/**
 * A service that stops for good never stops silently: `journey run processor` whose consumer
 * kafkajs gives up on (here: every transaction refused, the changelog topic taking only 1 KiB
 * messages, as a misconfigured cluster might) exits 1 naming the service and the cause, instead
 * of running on while consuming nothing; on several threads too, when one of them dies.
 */
import { describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../services/common/kafka.ts';
import { topicsFor } from '../../schemas/topics.ts';
import { testConfig } from '../helpers/config.ts';
import { pageView } from '../helpers/events.ts';
import { exited, produceAll, startJourney } from '../helpers/pipeline.ts';

describe('supervision', () => {
  it.each([1, 2])('exits 1, naming the service and why, when the processor dies (%i thread(s))', { timeout: 120_000 }, async (threads) => {
    const config = testConfig();
    const topics = topicsFor(config.topicPrefix);
    const admin = createKafka(config.kafka, undefined).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: topics.processorChangelog.name,
            numPartitions: config.kafka.topicPartitions,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'max.message.bytes', value: '1024' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    await ensureTopics(createKafka(config.kafka, undefined), config.kafka, Object.values(topics));
    await produceAll(config, [pageView({ customer_id: 'c-1', segment: 'x'.repeat(100) }), pageView({ customer_id: 'c-2' })]);

    const log: string[] = [];
    const processor = startJourney(['run', 'processor'], { TOPIC_PREFIX: config.topicPrefix, PROCESSOR_THREADS: String(threads) }, log);
    await exited(processor);
    expect(processor.exitCode).toBe(1);
    expect(log.join('')).toMatch(/processor stopped: .*; stopping journeyline \(exit 1\)/);
  });
});
