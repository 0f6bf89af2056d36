/**
 * A consumer that meets poison — bytes not in our wire format, a schema id the registry never
 * issued, an event that decodes but breaks the contract — moves each message untouched to the
 * dead-letter topic with the reason and its origin in headers, and goes on to the valid ones.
 */
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { AtLeastOnce } from '../../services/common/at-least-once.ts';
import { StreamRunner } from '../../services/common/stream-runner.ts';
import { createKafka, createIdempotentProducer, ensureTopics } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { pollUntil } from '../../services/common/poll.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { registerEventSchema, validateBatch } from '../../services/producer/event-producer.ts';
import { toAvro, type JourneyEvent } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../../services/common/event-decoder.ts';
import { DEAD_LETTER_HEADERS, topicsFor } from '../../schemas/topics.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { consumeN } from '../helpers/kafka.ts';
import { npsResponse, pageView } from '../helpers/events.ts';
import { eventId } from '../helpers/event-ids.ts';

describe('dead-letter topic', () => {
  const config = testConfig({ KAFKA_TOPIC_PARTITIONS: '1' });
  const kafka = createKafka(config.kafka, undefined);
  const registry = createRegistry(config.registry);
  const topics = topicsFor(config.topicPrefix);
  const deadLetters = createIdempotentProducer(kafka);
  let runner: StreamRunner<JourneyEvent, undefined> | undefined;
  afterAll(async () => {
    await runner?.stop();
    await deadLetters.disconnect();
  });

  it('moves poison aside with its reason and origin, and delivers the valid events around it', async () => {
    await ensureTopics(kafka, config.kafka, [topics.events, topics.deadLetter]);
    const schemaId = await registerEventSchema(registry, topics);
    const { events } = validateBatch([pageView(), npsResponse(10)], { now: Date.now(), maxFutureSkewMs: 0, maxPastMs: 365 * 86_400_000 });
    const [first, second] = events as [JourneyEvent, JourneyEvent];

    // Encoded with the registered schema but outside the contract: an NPS score of 42.
    const outOfContract = {
      ...toAvro(second),
      event_id: eventId(42),
      properties: { 'dev.journeyline.events.SurveyResponse': { survey_type: 'nps', score: 42, comment: null } },
    };
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x00]), Buffer.from('whatever')]);
    // Written with a schema the registry knows, but one the events reader cannot resolve.
    const { id: foreignId } = await registry.register(
      {
        type: SchemaType.AVRO,
        schema: JSON.stringify({ type: 'record', name: 'Foreign', namespace: 'elsewhere', fields: [{ name: 'x', type: 'string' }] }),
      },
      { subject: uniqueName('foreign-value') },
    );
    const messages = [
      { key: 'a', value: await registry.encode(schemaId, toAvro(first)) },
      { key: 'b', value: Buffer.from('{"not":"avro"}'), headers: { origin: 'legacy-app' } },
      { key: 'c', value: unknownId },
      { key: 'd', value: await registry.encode(schemaId, outOfContract) },
      { key: 'f', value: await registry.encode(foreignId, { x: 'not an event' }) },
      { key: 'e', value: await registry.encode(schemaId, toAvro(second)) },
    ];
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({ topic: topics.events.name, messages, acks: -1 });
    await producer.disconnect();

    const delivered: JourneyEvent[] = [];
    const groupId = uniqueName('dlq-test');
    await deadLetters.connect();
    runner = new StreamRunner({
      consumer: kafka.consumer({ groupId, readUncommitted: false }),
      topics: [topics.events.name],
      groupId,
      deadLetterTopic: topics.deadLetter.name,
      step: {
        name: 'dlq-test',
        decode: createJourneyEventDecoder(registry),
        process: (batch) => {
          delivered.push(...batch.decoded.map((d) => d.value));
          return Promise.resolve({ outputs: [] });
        },
      },
      delivery: new AtLeastOnce(deadLetters, 'as-resolved'),
      logger: createLogger('silent'),
      outageToleranceMs: config.kafka.outageToleranceMs,
    });
    await runner.start();
    await pollUntil(() => Promise.resolve(delivered.length >= 2 ? true : undefined), { timeoutMs: 30_000, what: 'the valid events' });
    expect(delivered).toEqual([first, second]);

    const dead = await consumeN(kafka, topics.deadLetter.name, 4);
    const header = (m: (typeof dead)[number], name: string) => m.headers?.[name]?.toString();
    expect(
      dead.map((m) => ({
        key: m.key?.toString(),
        untouched: m.value?.equals(messages.find((s) => s.key === m.key?.toString())?.value ?? Buffer.alloc(0)),
        origin: header(m, 'origin'),
        reason: header(m, DEAD_LETTER_HEADERS.reason),
        stage: header(m, DEAD_LETTER_HEADERS.stage),
        source: [
          header(m, DEAD_LETTER_HEADERS.sourceTopic),
          header(m, DEAD_LETTER_HEADERS.sourcePartition),
          header(m, DEAD_LETTER_HEADERS.sourceOffset),
        ],
        group: header(m, DEAD_LETTER_HEADERS.consumerGroup),
      })),
    ).toEqual([
      {
        key: 'b',
        untouched: true,
        origin: 'legacy-app',
        reason: 'value does not start with the Confluent magic byte 0 (got 123)',
        stage: 'decode',
        source: [topics.events.name, '0', '1'],
        group: groupId,
      },
      {
        key: 'c',
        untouched: true,
        origin: undefined,
        reason: `schema id ${String(0x7fffff00)} is unknown to the registry`,
        stage: 'decode',
        source: [topics.events.name, '0', '2'],
        group: groupId,
      },
      {
        key: 'd',
        untouched: true,
        origin: undefined,
        reason: 'properties.score: nps score must be 0–10, got 42',
        stage: 'validate',
        source: [topics.events.name, '0', '3'],
        group: groupId,
      },
      {
        key: 'f',
        untouched: true,
        origin: undefined,
        reason: expect.stringContaining(`schema id ${foreignId} cannot be read as this build's schema`) as unknown,
        stage: 'decode',
        source: [topics.events.name, '0', '4'],
        group: groupId,
      },
    ]);
  });
});
