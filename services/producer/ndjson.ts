/**
 * Feeds newline-delimited JSON events through the producer in batches, for backfills and tests
 * (`journey produce --file`). A line that is not JSON is rejected with its line number and never
 * stops the lines around it.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FieldError } from '../../schemas/event-contract.ts';
import type { SendOutcome } from './event-producer.ts';

export interface LineRejection {
  readonly line: number;
  readonly event_id: string | undefined;
  readonly errors: readonly FieldError[];
}

export interface FileOutcome {
  readonly accepted: number;
  readonly rejected: number;
  readonly rejections: readonly LineRejection[];
}

export async function produceNdjson(
  file: string,
  sink: { send(inputs: readonly unknown[]): Promise<SendOutcome> },
  batchSize: number,
): Promise<FileOutcome> {
  let accepted = 0;
  const rejections: LineRejection[] = [];
  let batch: { line: number; input: unknown }[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    const outcome = await sink.send(batch.map((b) => b.input));
    accepted += outcome.accepted;
    for (const result of outcome.results) {
      if (result.status === 'rejected') {
        rejections.push({ line: batch[result.index]?.line ?? 0, event_id: result.event_id, errors: result.errors });
      }
    }
    batch = [];
  };

  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === '') continue;
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (error: unknown) {
      rejections.push({
        line: lineNumber,
        event_id: undefined,
        errors: [{ path: '', message: `not JSON: ${error instanceof Error ? error.message : String(error)}` }],
      });
      continue;
    }
    batch.push({ line: lineNumber, input });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  rejections.sort((a, b) => a.line - b.line);
  return { accepted, rejected: rejections.length, rejections };
}
