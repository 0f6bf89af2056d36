/** Adds `by` to the count under `key`, dropping a count that reaches zero: the map holds only what is non-zero. */
export function tally<K>(counts: Map<K, number>, key: K, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}
