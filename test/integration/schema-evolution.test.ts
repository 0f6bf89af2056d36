/**
 * Schema evolution through the real registry: the events subject is BACKWARD compatible, so a v2
 * with a new optional field registers, consumers built on v1 still decode v2 messages, and a
 * breaking change is refused with a message that says why; writers starting at once agree.
 */
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../services/common/registry.ts';
import { registerEventSchema, SchemaIncompatibleError, validateBatch } from '../../services/producer/event-producer.ts';
import { JOURNEY_EVENT_AVSC, toAvro } from '../../schemas/event-contract.ts';
import { createJourneyEventDecoder } from '../../services/common/event-decoder.ts';
import { ok } from '../../services/common/step-result.ts';
import { topicsFor, valueSubjectOf } from '../../schemas/topics.ts';
import { testConfig } from '../helpers/config.ts';
import { pageView } from '../helpers/events.ts';

type Field = { name: string; type: unknown; default?: unknown };
const withFields = (change: (fields: Field[]) => Field[]) => ({
  ...JOURNEY_EVENT_AVSC,
  fields: change([...(JOURNEY_EVENT_AVSC.fields as Field[])]),
});

describe('event schema evolution', () => {
  const config = testConfig();
  const registry = createRegistry(config.registry);
  const topics = topicsFor(config.topicPrefix);

  it('accepts an added optional field, keeps v1 consumers decoding, and refuses a breaking change', async () => {
    const v1 = await registerEventSchema(registry, topics);
    const v2Schema = withFields((fields) => [...fields, { name: 'utm_campaign', type: ['null', 'string'], default: null }]);
    const v2 = await registerEventSchema(registry, topics, v2Schema);
    expect(v2).not.toBe(v1);

    // A v2 producer writes the new field; this build (v1 reader) decodes it, the field dropped.
    const validation = validateBatch([pageView()], { now: Date.now(), maxFutureSkewMs: 300_000, maxPastMs: 365 * 86_400_000 });
    const event = validation.events[0];
    if (event === undefined) throw new Error('sample event invalid');
    const encoded = await registry.encode(v2, { ...toAvro(event), utm_campaign: 'black-friday' });
    expect(encoded.readInt32BE(1)).toBe(v2);
    const decode = createJourneyEventDecoder(createRegistry(config.registry));
    expect(await decode({ key: null, value: encoded })).toEqual(ok(event));

    // Retyping a field breaks readers of existing data.
    const breaking = withFields((fields) => fields.map((f) => (f.name === 'occurred_at' ? { ...f, type: 'string' } : f)));
    const refusal = registerEventSchema(registry, topics, breaking);
    await expect(refusal).rejects.toBeInstanceOf(SchemaIncompatibleError);
    await expect(refusal).rejects.toThrow(
      `the registry refused the schema for subject ${valueSubjectOf(topics.events)}: it is not BACKWARD compatible with the registered versions`,
    );
  });

  it('registers the same schema twice under one id', async () => {
    const topicsB = topicsFor(`${config.topicPrefix}b.`);
    const first = await registerEventSchema(registry, topicsB);
    expect(await registerEventSchema(registry, topicsB)).toBe(first);
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(JOURNEY_EVENT_AVSC) },
      { subject: valueSubjectOf(topicsB.events) },
    );
    expect(id).toBe(first);
  });

  it('registers a new subject from several writers at once (threads or replicas starting) under one id, BACKWARD', async () => {
    const topicsC = topicsFor(`${config.topicPrefix}c.`);
    // A registry client each, as separate threads and processes have.
    const ids = await Promise.all(Array.from({ length: 8 }, () => registerEventSchema(createRegistry(config.registry), topicsC)));
    expect(new Set(ids).size).toBe(1);
    const breaking = withFields((fields) => fields.map((f) => (f.name === 'occurred_at' ? { ...f, type: 'string' } : f)));
    await expect(registerEventSchema(registry, topicsC, breaking)).rejects.toBeInstanceOf(SchemaIncompatibleError);
  });
});
