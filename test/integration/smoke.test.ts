/**
 * The foundation works against real services: the registry speaks the Confluent API that
 * @kafkajs/confluent-schema-registry expects, Kafka takes transactional writes, and ClickHouse
 * (server or embedded) round-trips rows with query parameters.
 */
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../services/common/clickhouse.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { testConfig, uniqueName } from '../helpers/config.ts';
import { consumeN } from '../helpers/kafka.ts';

const config = testConfig();

describe('schema registry + Kafka', () => {
  const kafka = createKafka(config.kafka, undefined);
  const admin = kafka.admin();
  afterAll(() => admin.disconnect());

  it('registers an Avro schema, produces an encoded message in a transaction, and decodes it back', async () => {
    const registry = createRegistry(config.registry);
    const subject = uniqueName('smoke');
    const schema = {
      type: 'record',
      name: 'Ping',
      namespace: 'dev.journeyline.smoke',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'int' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    };
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
    const payload = { id: 'a-1', n: 42, note: 'héllo' };
    const encoded = await registry.encode(id, payload);
    // Confluent wire format: magic byte 0, then the schema id as a big-endian int32.
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);

    const topic = `${config.topicPrefix}smoke`;
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ transactionalId: uniqueName('smoke-tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic, messages: [{ key: 'a-1', value: encoded }] });
    await tx.commit();
    await producer.disconnect();

    const [message] = await consumeN(kafka, topic, 1);
    expect(message?.key?.toString()).toBe('a-1');
    expect(await registry.decode(message?.value ?? Buffer.alloc(0))).toEqual(payload);
  });
});

describe('ClickHouse', () => {
  const clickhouse = createClickHouse(config.clickhouse);
  const database = uniqueName('smoke_db');
  afterAll(async () => {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse.close();
  });

  it('creates a table, inserts rows and reads them back with a query parameter', async () => {
    await clickhouse.command({ query: `CREATE DATABASE ${database}` });
    await clickhouse.command({
      query: `CREATE TABLE ${database}.visits (customer_id String, at DateTime64(3, 'UTC'), pages UInt32)
              ENGINE = MergeTree ORDER BY (customer_id, at)`,
    });
    await clickhouse.insert({
      table: `${database}.visits`,
      format: 'JSONEachRow',
      values: [
        { customer_id: 'c1', at: '2026-11-01 10:00:00.125', pages: 3 },
        { customer_id: 'c2', at: '2026-11-01 11:00:00.000', pages: 5 },
        { customer_id: 'c1', at: '2026-11-02 09:30:00.500', pages: 2 },
      ],
    });
    const result = await clickhouse.query({
      query: `SELECT customer_id, count() AS visits, sum(pages) AS pages, max(at) AS last_at
              FROM ${database}.visits WHERE customer_id = {customer:String} GROUP BY customer_id`,
      query_params: { customer: 'c1' },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ customer_id: 'c1', visits: '2', pages: '5', last_at: '2026-11-02 09:30:00.500' }]);
  });
});
