/**
 * What a stream step makes of one message, as data: the one result type of every consumer
 * (decoders and steps alike), routed in one place by the runner (stream-runner.ts).
 * - `ok`: the value goes on;
 * - `deadLetter`: the message is copied, untouched, to the dead-letter topic with the reason and
 *   the stage that refused it (decode, validate, process, …), and the partition goes on;
 * - `drop`: counted for nothing and sent nowhere, on purpose;
 * - `redirect`: the message belongs elsewhere (another topic or partition) and is sent there, in the
 *   same commit as the batch's outputs.
 */
import type { Message } from 'kafkajs';

export type StepResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'deadLetter'; readonly reason: string; readonly stage: string }
  | { readonly kind: 'drop' }
  | { readonly kind: 'redirect'; readonly topic: string; readonly message: Message };

/** What a decoder makes of a message: its value, or why it is poison. */
export type Decoded<T> = Extract<StepResult<T>, { readonly kind: 'ok' | 'deadLetter' }>;

/** Every result but `ok`: what the runner routes. */
export type SetAside = Exclude<StepResult<unknown>, { readonly kind: 'ok' }>;

export const ok = <T>(value: T): { readonly kind: 'ok'; readonly value: T } => ({ kind: 'ok', value });

export const deadLetter = (
  reason: string,
  stage: string,
): { readonly kind: 'deadLetter'; readonly reason: string; readonly stage: string } => ({
  kind: 'deadLetter',
  reason,
  stage,
});

export const drop: { readonly kind: 'drop' } = { kind: 'drop' };

export const redirect = (
  topic: string,
  message: Message,
): { readonly kind: 'redirect'; readonly topic: string; readonly message: Message } => ({
  kind: 'redirect',
  topic,
  message,
});

/** An error as a dead letter's reason: its name and message. */
export const reasonOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
