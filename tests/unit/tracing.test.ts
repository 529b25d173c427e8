import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { createLogger } from '../../platform/logger.js';
import {
  injectTraceHeaders,
  readTracingEnv,
  startServerSpan,
  startTracing,
  traceFields,
} from '../../platform/tracing.js';

test('the trace endpoint: the traces-specific variable wins over the general one', () => {
  assert.equal(readTracingEnv({}).endpoint, undefined);
  assert.equal(
    readTracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).endpoint,
    'http://collector:4318',
  );
  assert.equal(
    readTracingEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    }).endpoint,
    'http://traces:4318/v1/traces',
  );
});

test('without an endpoint tracing is off: no SDK registered, nothing propagated, no ids in logs', async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const lines: string[] = [];
  const logger = createLogger('test', 'info', { write: (line) => void lines.push(line) });
  await startTracing('test', logger);
  const incoming = {
    method: 'POST',
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  } as unknown as IncomingMessage;
  const { span, context: spanContext } = startServerSpan(incoming, '/graphql');
  assert.equal(span.isRecording(), false);
  const headers = new Map<string, string>();
  context.with(spanContext, () => {
    injectTraceHeaders(headers);
    logger.info('inside the request');
  });
  assert.equal(headers.size, 0, 'no traceparent is sent on');
  assert.deepEqual(traceFields(span), {});
  assert.equal(JSON.parse(lines[0] ?? '{}').trace_id, undefined);
  assert.equal(trace.getActiveSpan(), undefined);
});
