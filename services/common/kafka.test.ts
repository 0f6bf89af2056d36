import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logLevel, Partitioners, type Message, type PartitionMetadata } from 'kafkajs';
import { pino } from 'pino';
import { chunkTopicMessages, keyPartitioner, pinoLogCreator, routingPartitioner } from './kafka.ts';

const message = (key: string, bytes: number) => ({ key, value: 'x'.repeat(bytes) });

describe('chunkTopicMessages', () => {
  it('keeps each chunk under the byte budget and every message in order', () => {
    const input = [
      { topic: 'a', messages: Array.from({ length: 10 }, (_, i) => message(`a${i}`, 300)) },
      { topic: 'b', messages: Array.from({ length: 5 }, (_, i) => message(`b${i}`, 300)) },
    ];
    const chunks = chunkTopicMessages(input, 1_000);
    for (const chunk of chunks) {
      const bytes = chunk.flatMap((t) => t.messages).reduce((sum, m) => sum + 64 + String(m.key).length + String(m.value).length, 0);
      expect(bytes).toBeLessThanOrEqual(1_000);
    }
    const flattened = chunks.flatMap((chunk) => chunk.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.key)}`)));
    expect(flattened).toEqual(input.flatMap((t) => t.messages.map((m) => `${t.topic}:${m.key}`)));
  });

  it('sends a message larger than the budget alone rather than dropping it', () => {
    const chunks = chunkTopicMessages(
      [{ topic: 'a', messages: [message('small', 10), message('big', 5_000), message('next', 10)] }],
      1_000,
    );
    expect(chunks.map((c) => c.flatMap((t) => t.messages.map((m) => m.key)))).toEqual([['small'], ['big'], ['next']]);
  });

  it('yields nothing for nothing', () => {
    expect(chunkTopicMessages([{ topic: 'a', messages: [] }])).toEqual([]);
  });
});

const partitionMetadataOf = (count: number) =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

describe('routingPartitioner', () => {
  const partitionMetadata = partitionMetadataOf(12);
  const place = (topic: string, key: string) =>
    routingPartitioner({ kpis: (k) => k.slice(0, k.lastIndexOf('|')) })()({ topic, partitionMetadata, message: { key, value: null } });

  it('puts records with the same route on one partition, whatever the rest of their keys', () => {
    const partitions = new Set([0, 1, 2, 3, 4, 5].map((p) => place('kpis', `smb|2026-11-10|${p}`)));
    expect(partitions.size).toBe(1);
  });

  it('places other topics by the whole key, as the Java client would', () => {
    const murmur2 = Partitioners.DefaultPartitioner()({
      topic: 'other',
      partitionMetadata,
      message: { key: 'smb|2026-11-10|3', value: null },
    });
    expect(place('other', 'smb|2026-11-10|3')).toBe(murmur2);
  });
});

describe('keyPartitioner', () => {
  it('is where the Java client (and kafkajs by default) puts a key, whatever the partition count', () => {
    for (const count of [1, 3, 6, 12])
      for (const key of ['anon:دستگاه-۷', 'anon:a', 'مریم', '']) {
        const partitionMetadata = partitionMetadataOf(count);
        expect(keyPartitioner(count)(key)).toBe(
          Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } }),
        );
      }
  });
});

describe("kafkajs's murmur2 (patches/kafkajs+2.2.4.patch: in 32-bit integers, no Long per byte)", () => {
  const murmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
    key: string | Buffer,
  ) => number;

  it("hashes as the Java client does: Kafka's own test vectors (UtilsTest.testMurmur2)", () => {
    const java: [string | Buffer, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      [Buffer.from('abc'), 479470107],
    ];
    for (const [key, hash] of java) expect(murmur2(key)).toBe(hash);
  });

  it('hashes a key by its UTF-8 bytes, every tail length', () => {
    // Values of kafkajs's Long implementation before the patch.
    expect(murmur2('')).toBe(275646681);
    expect(murmur2('cust-10096')).toBe(1465569082);
    expect(murmur2('مشتری-۱۲۳')).toBe(856921343);
    expect(murmur2('مشتری-۱۲۳')).toBe(murmur2(Buffer.from('مشتری-۱۲۳', 'utf8')));
  });
});

describe("kafkajs's CRC-32C of a record batch (patches/kafkajs+2.2.4.patch: eight bytes per step)", () => {
  const crc32C = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;
  /** CRC-32C bit by bit (Castagnoli, reflected polynomial 0x82F63B78): no table to share a mistake with. */
  const bitwise = (buffer: Buffer) => {
    let crc = ~0;
    for (const byte of buffer) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return ~crc >>> 0;
  };

  it('gives the check value of CRC-32C and agrees with a bitwise CRC at every length and alignment', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 0xff));
    for (let start = 0; start < 8; start++)
      for (let length = 0; length <= 40; length++) {
        const slice = bytes.subarray(start, start + length * 7);
        expect(crc32C(slice)).toBe(bitwise(slice));
      }
  });
});

describe('pinoLogCreator', () => {
  it('logs the responses kafkajs retries by itself at debug, and real errors as errors', () => {
    const levels: number[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        levels.push((JSON.parse(chunk.toString()) as { level: number }).level);
        done();
      },
    });
    const log = pinoLogCreator(pino({ level: 'debug' }, sink))(logLevel.ERROR);
    const entry = (error: string) => ({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: 'Response FindCoordinator', error, timestamp: '' },
    });
    log(entry("The coordinator is loading and hence can't process requests for this group"));
    log(entry('The group coordinator is not available'));
    log(entry('The request included a message larger than the max message size the server will accept'));
    expect(levels).toEqual([20, 20, 50]);
  });
});

describe("kafkajs's grouping of a send's messages per partition (patches/kafkajs+2.2.4.patch)", () => {
  // Internal to kafkajs: patched to one pass (each message's partition array was copied per message).
  const groupMessagesPerPartition = createRequire(import.meta.url)('kafkajs/src/producer/groupMessagesPerPartition.js') as (input: {
    topic: string;
    partitionMetadata: PartitionMetadata[];
    messages: Message[];
    partitioner: (input: { message: Message }) => number;
  }) => Record<string, Message[]>;

  it('keeps every message, in order within its partition', () => {
    const messages = Array.from({ length: 20_000 }, (_, i) => ({ key: String(i), value: null, partition: (i * 7) % 6 }));
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: ({ message }) => message.partition ?? 0,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const [partition, inPartition] of Object.entries(grouped)) {
      expect(inPartition).toEqual(messages.filter((m) => m.partition === Number(partition)));
    }
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });
});
