import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { createMetrics } from '../../platform/metrics.js';
import { projectPath } from '../../platform/paths.js';

/**
 * The Grafana dashboard queries only series the services expose: a renamed metric must fail here,
 * not show an empty panel in production.
 */
interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const PROMQL_WORDS = new Set([
  'sum',
  'rate',
  'by',
  'without',
  'histogram_quantile',
  'label_values',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
]);

/** The metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '') // label values
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\w+/g, ' '); // Grafana variables
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((match) => match[1] as string)
    .filter((name) => !PROMQL_WORDS.has(name) && !/^\d/.test(name));
}

/** Every series name one service's registry exposes, histograms with their three series. */
async function registeredSeries(): Promise<Set<string>> {
  const metrics = createMetrics('dashboard-test');
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

test('metricNames finds the metrics of an expression and nothing else', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.95, sum by (le, operation) (rate(graphql_operation_duration_seconds_bucket{service="gateway"}[$__rate_interval])))',
    ),
    ['graphql_operation_duration_seconds_bucket'],
  );
  assert.deepEqual(metricNames('sum by (instance) (websocket_connections) / up'), [
    'websocket_connections',
    'up',
  ]);
});

test('every metric a dashboard panel queries is one the services register', async () => {
  const dashboard = JSON.parse(
    await readFile(projectPath('deploy/grafana/supergraph-dashboard.json'), 'utf8'),
  ) as { panels: Panel[]; uid: string };
  const registered = await registeredSeries();
  const used = new Set<string>();
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
  assert.ok(panels.length >= 12, 'the dashboard has its panels');
  for (const panel of panels) {
    assert.ok(panel.targets?.length, `${panel.title} has queries`);
    for (const target of panel.targets ?? []) {
      const names = metricNames(target.expr);
      assert.ok(names.length > 0, `${panel.title}: no metric in ${target.expr}`);
      for (const name of names) {
        used.add(name);
        assert.ok(
          registered.has(name),
          `${panel.title}: ${name} is not a metric the services register`,
        );
      }
    }
  }
  // The list: each of these is on the dashboard.
  for (const name of [
    'graphql_operation_duration_seconds_count',
    'graphql_operation_duration_seconds_bucket',
    'subgraph_fetch_duration_seconds_bucket',
    'dataloader_batch_size_sum',
    'cache_requests_total',
    'events_total',
    'websocket_connections',
    'graphql_subscriptions_active',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
  ])
    assert.ok(used.has(name), `a panel shows ${name}`);
});
