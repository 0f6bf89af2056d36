/** Earlier versions of the event schema, for tests that prove evolution (no services here: unit tests use it too). */
import { JOURNEY_EVENT_AVSC } from '../../schemas/event-contract.ts';

/**
 * The event schema as it was before `added` came in: those event-type symbols, union branches
 * (records by name) and fields left out, wherever they stand.
 */
export function eventSchemaWithout(added: readonly string[]): Record<string, unknown> {
  const isAdded = (item: unknown) =>
    (typeof item === 'string' && added.includes(item)) || added.includes(String((item as { name?: unknown } | null)?.name));
  return JSON.parse(JSON.stringify(JOURNEY_EVENT_AVSC), (key, value: unknown) =>
    (key === 'symbols' || key === 'type' || key === 'fields') && Array.isArray(value) ? value.filter((item) => !isAdded(item)) : value,
  ) as Record<string, unknown>;
}
