/** The query endpoint's token in every test that starts journeyline (startJourney sets QUERY_API_KEYS). */
export const TEST_QUERY_TOKEN = 'test-query-token-0123456789';

/** Reads over ClickHouse's HTTP interface, as an analyst's client would. */
export async function sqlRows<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  params: Record<string, string> = {},
): Promise<T[]> {
  const url = new URL(baseUrl);
  url.searchParams.set('default_format', 'JSONEachRow');
  for (const [name, value] of Object.entries(params)) url.searchParams.set(`param_${name}`, value);
  const response = await fetch(url, { method: 'POST', body: query, headers: { authorization: `Bearer ${TEST_QUERY_TOKEN}` } });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.trim()}`);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** The ```sql blocks of a markdown file, with the heading above each. */
export function sqlBlocks(markdown: string): { title: string; sql: string }[] {
  return [...markdown.matchAll(/^#{2,4} (.+)\n\n```sql\n([\s\S]*?)```/gm)].map((m) => ({ title: m[1] ?? '', sql: m[2] ?? '' }));
}
