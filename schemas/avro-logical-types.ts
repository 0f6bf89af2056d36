/**
 * Avro's logical types as journeyline's records hold them: on the wire the standard encodings, so
 * any Confluent-compatible client decodes times as times and money as decimals; in TypeScript the
 * strings the zod records already use (ISO-8601 instants and days, exact decimal strings), so
 * nothing between the processor's rules and the sink's rows changes shape.
 *
 * - `timestamp-millis` (long): epoch milliseconds ↔ `2026-12-04T10:00:00.000Z`
 * - `date` (int): days since 1970-01-01 ↔ `2026-12-04`
 * - `decimal` (bytes, big-endian two's complement of the unscaled value) ↔ `"19.99"`; a value with
 *   more decimals than the schema's scale does not encode (money is never rounded on the way out).
 */
import avro from 'avsc';

const DAY_MS = 86_400_000;

/** `1733306400000` ↔ `"2024-12-04T10:00:00.000Z"`. */
class IsoTimestampMillis extends avro.types.LogicalType {
  protected override _fromValue(millis: number): string {
    return new Date(millis).toISOString();
  }

  protected override _toValue(iso: unknown): number | undefined {
    if (typeof iso !== 'string') return undefined;
    const millis = Date.parse(iso);
    return Number.isNaN(millis) ? undefined : millis;
  }

  protected override _resolve(writer: avro.Type): ((millis: number) => string) | undefined {
    if (avro.Type.isType(writer, 'long', 'logical:timestamp-millis')) return (millis) => this._fromValue(millis);
    return undefined;
  }
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `20061` ↔ `"2024-12-04"`. */
class IsoDate extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    return new Date(days * DAY_MS).toISOString().slice(0, 10);
  }

  protected override _toValue(day: unknown): number | undefined {
    if (typeof day !== 'string' || !ISO_DAY.test(day)) return undefined;
    const millis = Date.parse(`${day}T00:00:00Z`);
    return Number.isNaN(millis) ? undefined : millis / DAY_MS;
  }

  protected override _resolve(writer: avro.Type): ((days: number) => string) | undefined {
    if (avro.Type.isType(writer, 'int', 'logical:date')) return (days) => this._fromValue(days);
    return undefined;
  }
}

const DECIMAL_TEXT = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The unscaled value of a decimal string at `scale`, or undefined when it needs more decimals. */
export function unscaledOf(text: string, scale: number): bigint | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '0', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > scale) return undefined;
  const unscaled = BigInt(whole + significant.padEnd(scale, '0'));
  return sign === '-' ? -unscaled : unscaled;
}

/** The decimal string of an unscaled value: trailing zeros trimmed, at least two decimals kept (as the processor writes money). */
export function decimalTextOf(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits
    .slice(digits.length - scale)
    .replace(/0+$/, '')
    .padEnd(Math.min(2, scale), '0');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Big-endian two's complement in as few bytes as hold the value with its sign (Avro's decimal). */
function twosComplementOf(value: bigint): Buffer {
  let bytes = 1;
  while (value >= 1n << BigInt(8 * bytes - 1) || value < -(1n << BigInt(8 * bytes - 1))) bytes++;
  return Buffer.from(
    BigInt.asUintN(8 * bytes, value)
      .toString(16)
      .padStart(2 * bytes, '0'),
    'hex',
  );
}

function fromTwosComplement(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(`0x${bytes.toString('hex')}`);
  return BigInt.asIntN(8 * bytes.length, unsigned);
}

class DecimalText extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, options?: object) {
    super(schema, options);
    const { scale, precision } = schema as { scale?: unknown; precision?: unknown };
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1)
      throw new Error('an Avro decimal needs a positive integer precision');
    this.scale = typeof scale === 'number' && Number.isInteger(scale) && scale >= 0 ? scale : 0;
  }

  protected override _fromValue(bytes: Buffer): string {
    return decimalTextOf(fromTwosComplement(bytes), this.scale);
  }

  protected override _toValue(text: unknown): Buffer | undefined {
    if (typeof text !== 'string') return undefined;
    const unscaled = unscaledOf(text, this.scale);
    return unscaled === undefined ? undefined : twosComplementOf(unscaled);
  }

  protected override _resolve(writer: avro.Type): ((bytes: Buffer) => string) | undefined {
    const sameScale = (writer as { scale?: number }).scale ?? 0;
    if (avro.Type.isType(writer, 'bytes')) return (bytes) => this._fromValue(bytes);
    if (avro.Type.isType(writer, 'logical:decimal') && sameScale === this.scale) return (bytes) => this._fromValue(bytes);
    return undefined;
  }
}

/** The `logicalTypes` option of avsc's Type.forSchema for journeyline's records. */
const LOGICAL_TYPES: Readonly<Record<string, new (schema: avro.Schema, options?: object) => avro.types.LogicalType>> = {
  'timestamp-millis': IsoTimestampMillis,
  date: IsoDate,
  decimal: DecimalText,
};

/** An avsc type of one of journeyline's record schemas, its logical types as above. */
export const recordTypeOf = (schema: object): avro.Type => avro.Type.forSchema(schema as avro.Schema, { logicalTypes: LOGICAL_TYPES });
