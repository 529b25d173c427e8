import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import { PHOTO, uid } from './support.js';

/** The parts of an OTLP/JSON span this test reads. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpExport {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: {
      spans: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] })[];
    }[];
  }[];
}

const attributes = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));

/** A minimal OTLP/HTTP trace receiver: the JSON encoding the services' exporter sends. */
function startReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const resourceSpans of body.resourceSpans) {
        const service = String(attributes(resourceSpans.resource.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans)
          for (const span of scope.spans)
            spans.push({ ...span, service, attributes: attributes(span.attributes) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
      }),
    ),
  );
}

let stack: TestStack;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  receiver = await startReceiver();
  stack = await startStack();
});

after(async () => {
  await stack.stop();
  receiver.server.close();
});

test('one query through the gateway is one trace: gateway spans, and the likes subgraph span as a child of the gateway fetch to it; logs carry the trace id', async () => {
  const tracingEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    // Export within a tenth of a second rather than the default five.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  // Both sides as processes of their own, each with its own SDK, as in production.
  const likes = await stack.spawnSubgraph('likes', {
    ...tracingEnv,
    OTEL_SERVICE_NAME: 'likes',
    LOG_LEVEL: 'info',
  });
  const likesLog: Record<string, unknown>[] = [];
  let pending = '';
  likes.process.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) likesLog.push(JSON.parse(line));
  });
  const gateway = await stack.spawnGateway({ ...tracingEnv, LIKES_URL: likes.url });

  const author = uid('traced');
  const { createPost } = ok(
    await stack.gql(
      'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }',
      {
        input: { media: [PHOTO] },
      },
      { as: author },
    ),
  );
  const requestId = `trace-${uid()}`;
  const result = await stack.gql(
    'query Traced($id: ID!) { post(id: $id) { id likeCount viewerHasLiked } }',
    { id: createPost.id },
    { as: author, url: gateway.url, headers: { 'x-request-id': requestId } },
  );
  assert.deepEqual(ok(result).post, { id: createPost.id, likeCount: 0, viewerHasLiked: false });

  const likesServerSpan = () =>
    receiver.spans.find((span) => span.service === 'likes' && span.name === 'POST /graphql');
  await until('the likes subgraph to export its span', () => likesServerSpan() !== undefined);
  const child = likesServerSpan() as ReceivedSpan;
  const traceId = child.traceId;
  assert.match(traceId, /^[0-9a-f]{32}$/);
  await until('the gateway to export its spans', () =>
    receiver.spans.some((span) => span.service === 'gateway' && span.name === 'gateway.request'),
  );
  const gatewaySpans = receiver.spans.filter(
    (span) => span.service === 'gateway' && span.traceId === traceId,
  );
  const names = new Set(gatewaySpans.map((span) => span.name));
  for (const name of ['POST /graphql', 'gateway.request', 'gateway.plan', 'gateway.fetch'])
    assert.ok(names.has(name), `gateway span ${name} in the trace (got ${[...names].join(', ')})`);

  // The likes span's parent is the gateway's fetch to likes, under the gateway's request span.
  const parent = gatewaySpans.find((span) => span.spanId === child.parentSpanId);
  assert.equal(parent?.name, 'gateway.fetch');
  assert.equal(parent?.attributes.service, 'likes');
  const root = gatewaySpans.find((span) => span.name === 'POST /graphql');
  assert.equal(root?.kind, 2, 'the gateway span of the HTTP request is a SERVER span');
  assert.equal(
    root?.parentSpanId ?? '',
    '',
    'the client sent no traceparent: the gateway starts the trace',
  );
  assert.equal(root?.attributes['graphql.operation.name'], 'Traced');
  // The feed subgraph runs in the test process, where no SDK is started: it exports nothing.
  assert.ok(receiver.spans.every((span) => ['likes', 'gateway'].includes(span.service)));

  await until('the likes request log line', () =>
    likesLog.some((line) => line.requestId === requestId && line.msg === 'request'),
  );
  const line = likesLog.find((l) => l.requestId === requestId && l.msg === 'request');
  assert.equal(line?.trace_id, traceId);
  assert.equal(line?.span_id, child.spanId);

  // The same operation again runs compiled (gateway/execution/): a trace of the same shape.
  const again = await stack.gql(
    'query Traced($id: ID!) { post(id: $id) { id likeCount viewerHasLiked } }',
    { id: createPost.id },
    { as: author, url: gateway.url },
  );
  assert.deepEqual(ok(again).post, ok(result).post);
  const secondLikesSpan = () =>
    receiver.spans.find(
      (span) =>
        span.service === 'likes' && span.name === 'POST /graphql' && span.traceId !== traceId,
    );
  await until('the likes span of the second request', () => secondLikesSpan() !== undefined);
  const secondChild = secondLikesSpan() as ReceivedSpan;
  await until('the gateway spans of the second request', () =>
    receiver.spans.some(
      (span) => span.traceId === secondChild.traceId && span.name === 'gateway.request',
    ),
  );
  const secondSpans = receiver.spans.filter((span) => span.traceId === secondChild.traceId);
  const secondNames = new Set(secondSpans.map((span) => span.name));
  for (const name of ['POST /graphql', 'gateway.request', 'gateway.execute', 'gateway.fetch'])
    assert.ok(secondNames.has(name), `gateway span ${name} in the second trace`);
  assert.ok(!secondNames.has('gateway.plan'), 'the second request is not planned again');
  const secondParent = secondSpans.find((span) => span.spanId === secondChild.parentSpanId);
  assert.equal(secondParent?.name, 'gateway.fetch');
  assert.equal(secondParent?.attributes.service, 'likes');
});
