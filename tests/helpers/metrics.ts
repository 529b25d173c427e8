import assert from 'node:assert/strict';

/** The sum of a series' samples whose labels include `labels`, from a service's /metrics. */
export async function sample(
  graphqlUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  let total = 0;
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => found.includes(`${key}="${value}"`)))
      total += Number(match[3]);
  }
  return total;
}
