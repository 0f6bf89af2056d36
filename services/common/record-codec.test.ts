import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { prefixedEncoder } from './record-codec.ts';

describe('prefixedEncoder', () => {
  const type = avro.Type.forSchema({ type: 'record', name: 'Note', fields: [{ name: 'text', type: 'string' }] });
  const prefix = Buffer.from([0, 0, 0, 0, 7]);
  const expected = (text: string) => Buffer.concat([prefix, type.toBuffer({ text })]);

  it('writes the prefix and the Avro bytes, each value into a buffer of its own', () => {
    const encode = prefixedEncoder(type, prefix);
    const first = encode({ text: 'سلام' });
    const second = encode({ text: 'a longer second value' });
    expect(first).toEqual(expected('سلام'));
    expect(second).toEqual(expected('a longer second value'));
    expect(type.fromBuffer(first.subarray(prefix.length))).toEqual({ text: 'سلام' });
  });

  it('grows for a value larger than its buffer, and keeps encoding after', () => {
    const encode = prefixedEncoder(type, prefix);
    const large = 'ک'.repeat(100_000);
    expect(encode({ text: large })).toEqual(expected(large));
    expect(encode({ text: 'small' })).toEqual(expected('small'));
  });
});
