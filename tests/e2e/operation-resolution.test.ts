import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

let stack: TestStack;
before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

const TWO = 'query A { viewer { id } } query B { viewer { id } }';

test('a request naming no operation of its document is a 400 with OPERATION_RESOLUTION_FAILURE over HTTP', async () => {
  for (const body of [{ query: TWO }, { query: TWO, operationName: 'C' }]) {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 400);
    const result = (await response.json()) as { errors: { extensions: { code: string } }[] };
    assert.deepEqual(
      result.errors.map((error) => error.extensions.code),
      ['OPERATION_RESOLUTION_FAILURE'],
    );
  }
});

test('the same refusal over the WebSocket is that operation’s error message', async () => {
  const client = wsClient(stack.gatewayUrl, await stack.token('resolver'));
  const received = client.subscribe(TWO);
  await until('the refusal', () => received.errors !== undefined);
  assert.equal(received.errors?.[0]?.extensions?.code, 'OPERATION_RESOLUTION_FAILURE');
  await client.close();
});
