import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { projectPath } from '../../platform/paths.js';
import { SUBGRAPH_NODE_ARGS } from '../../scripts/stack/processes.js';

/**
 * No Docker engine or cluster runs here, so the deployment files are checked as files: they parse,
 * every long-running container has a health check and resource limits, and every environment
 * variable they set is one the code reads, which the README documents.
 */
const read = (file: string) => readFile(projectPath(file), 'utf8');

interface ComposeService {
  image?: string;
  command?: string | string[];
  restart?: string;
  healthcheck?: { test?: unknown; disable?: boolean };
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string; memory?: string } } };
  environment?: Record<string, string>;
}

async function variablesTheCodeReads(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of ['platform', 'gateway', 'subgraphs', 'scripts']) {
    const entries = await readdir(projectPath(dir), { recursive: true, withFileTypes: true });
    for (const entry of entries.filter((e) => e.isFile() && e.name.endsWith('.ts'))) {
      const text = await readFile(join(entry.parentPath, entry.name), 'utf8');
      for (const match of text.matchAll(
        /\b([A-Z][A-Z0-9_]{2,}): (?:str|int|url|oneOf|optionalStr)\(/g,
      ))
        names.add(match[1] as string);
      for (const match of text.matchAll(
        /(?:readServiceEnv|runSubgraphProcess)\((?:'\w+', )?'([A-Z_]+)'/g,
      ))
        names.add(match[1] as string);
    }
  }
  return names;
}

test('every environment variable the code reads is documented in the README', async () => {
  const readme = await read('README.md');
  const names = await variablesTheCodeReads();
  for (const expected of [
    'MONGODB_URI',
    'GATEWAY_PORT',
    'FEED_PORT',
    'JWT_SECRET',
    'PUBSUB_ENGINE',
    'RATE_LIMIT_USER_PER_MINUTE',
  ]) {
    assert.ok(names.has(expected), `the scan finds ${expected}`);
  }
  for (const name of names) assert.ok(readme.includes(`\`${name}\``), `${name} is in the README`);
});

test('docker-compose: the production topology, each long-running service with a health check and limits', async () => {
  const compose = parse(await read('deploy/docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const services = compose.services;
  const commandOf = (name: string) => [services[name]?.command ?? ''].flat().join(' ');
  assert.match(commandOf('config'), /--configsvr/);
  assert.match(commandOf('shard-1'), /--shardsvr/);
  assert.match(commandOf('shard-2'), /--shardsvr/);
  assert.match(commandOf('mongos'), /^mongos /);
  assert.match(commandOf('db-shard'), /db-shard\.js/);
  for (const node of ['nats-1', 'nats-2', 'nats-3'])
    assert.match(commandOf(node), /-js .*--routes/);
  assert.equal(services.gateway?.deploy?.replicas, 2);
  assert.ok(services['load-balancer'] && services.redis);
  for (const [name, service] of Object.entries(services)) {
    const limits = service.deploy?.resources?.limits;
    assert.ok(limits?.cpus && limits.memory, `${name} has CPU and memory limits`);
    if (service.restart === 'no') continue; // one-shot set-up jobs
    assert.ok(
      service.healthcheck?.test && !service.healthcheck.disable,
      `${name} has a health check`,
    );
  }
  const known = await variablesTheCodeReads();
  for (const name of Object.keys(services.gateway?.environment ?? {}))
    assert.ok(known.has(name), `compose sets ${name}, which the code reads`);
});

test('Kubernetes: each service a Deployment with probes and resources, a Service and an autoscaler', async () => {
  const documents = parseAllDocuments(await read('deploy/k8s/services.yaml')).map((document) =>
    document.toJS(),
  );
  const ofKind = (kind: string) => documents.filter((document) => document.kind === kind);
  const deployments = ofKind('Deployment');
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), [
    'comments',
    'feed',
    'gateway',
    'likes',
    'notifications',
  ]);
  for (const deployment of deployments) {
    const name = deployment.metadata.name;
    const [container] = deployment.spec.template.spec.containers;
    const port = container.ports[0].containerPort;
    assert.equal(container.readinessProbe.httpGet.path, '/health/ready', name);
    assert.equal(container.readinessProbe.httpGet.port, port, name);
    assert.equal(container.livenessProbe.httpGet.path, '/health/live', name);
    assert.ok(container.resources.requests.cpu && container.resources.limits.memory, name);
    assert.ok(
      ofKind('Service').some((s) => s.metadata.name === name && s.spec.ports[0].port === port),
      `${name} Service`,
    );
    assert.ok(
      ofKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === name),
      `${name} autoscaler`,
    );
  }
  const known = await variablesTheCodeReads();
  const [config] = ofKind('ConfigMap');
  for (const name of Object.keys(config.data))
    assert.ok(known.has(name), `the ConfigMap sets ${name}, which the code reads`);
});

test('the image is built in stages and runs as a non-root user', async () => {
  const dockerfile = await read('deploy/Dockerfile');
  assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /npm prune --omit=dev/);
});

test('compose and Kubernetes run each subgraph with the V8 flags npm start gives it, the gateway with none', async () => {
  const compose = parse(await read('deploy/docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const k8s = parseAllDocuments(await read('deploy/k8s/services.yaml'))
    .map((document) => document.toJS())
    .filter((document) => document.kind === 'Deployment');
  const commands = [
    ...Object.values(compose.services).map((service) => service.command),
    ...k8s.map((deployment) => deployment.spec.template.spec.containers[0].command),
  ].filter((command): command is string[] => Array.isArray(command) && command[0] === 'node');
  const entry = (command: string[]) => command.find((part) => part.startsWith('dist/')) ?? '';
  const subgraphs = commands.filter((command) => entry(command).startsWith('dist/subgraphs/'));
  const gateways = commands.filter((command) => entry(command) === 'dist/gateway/index.js');
  assert.equal(subgraphs.length, 8, 'four subgraphs in each file');
  assert.equal(gateways.length, 2, 'the gateway in each file');
  for (const command of subgraphs)
    assert.deepEqual(command.slice(1, -1), SUBGRAPH_NODE_ARGS, entry(command));
  for (const command of gateways) assert.deepEqual(command.slice(1, -1), [], 'gateway');
});
