import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import {
  QueryPlanner,
  type FetchNode,
  type PlanNode,
  type QueryPlanSelectionNode,
} from '@apollo/query-planner';
import { Kind, parse, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { poolFor } from '../../platform/http-pools.js';
import { FEED_QUERY } from './bench-queries.js';

/**
 * Peer (e) of `npm run bench -- --workload feed`: the floor under any Node gateway for the feed
 * query on this machine, not a gateway. It serves that one query and nothing else, checks no
 * token (it forwards the header) and runs no GraphQL per request. At start-up it plans the query
 * with Apollo's planner, as ours does; per request it reads and parses the body, sends the plan's
 * subgraph requests over the same undici pools as ours (`poolFor`), parses their answers, merges
 * them, keeps the client's selection and writes the answer. What a gateway spends beyond this is
 * what its GraphQL server, planning, execution, checks and metrics cost. Measurement only.
 */
type Json = Record<string, unknown>;

const supergraph = Supergraph.build(readFileSync(process.env.SUPERGRAPH_PATH ?? '', 'utf8'));
const urls = new Map(supergraph.subgraphsMetadata().map(({ name, url }) => [name, url]));
const document = parse(FEED_QUERY);
const planned = new QueryPlanner(supergraph).buildQueryPlan(
  operationFromDocument(supergraph.apiSchema(), document),
).node;
const root = planned?.kind === 'Subscription' ? undefined : planned;
const selection = (document.definitions[0] as OperationDefinitionNode).selectionSet;

async function fetchFrom(
  node: FetchNode,
  authorization: string | undefined,
  variables: Json,
): Promise<Json> {
  const { pool, path } = poolFor(urls.get(node.serviceName) ?? '', 10_000);
  const response = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
    body: JSON.stringify({ query: node.operation, variables }),
  });
  return JSON.parse(await response.body.text()) as Json;
}

/** The objects at `path` under `value`, `@` standing for every element of a list. */
function objectsAt(value: unknown, path: readonly (string | number)[], into: Json[]): Json[] {
  if (value === null || value === undefined) return into;
  if (Array.isArray(value)) {
    for (const element of value) objectsAt(element, path, into);
    return into;
  }
  const [head, ...rest] = path;
  if (head === undefined) into.push(value as Json);
  else objectsAt(head === '@' ? value : (value as Json)[head], rest, into);
  return into;
}

/** An entity's representation: the fields its fetch requires (`__typename` and its key here). */
function represent(object: Json, requires: readonly QueryPlanSelectionNode[]): Json {
  const representation: Json = {};
  for (const fragment of requires) {
    if (fragment.kind !== 'InlineFragment') continue;
    for (const field of fragment.selections) {
      if (field.kind === 'Field') representation[field.name] = object[field.name];
    }
  }
  return representation;
}

async function run(
  node: PlanNode,
  data: Json,
  authorization: string | undefined,
  errors: unknown[],
) {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await run(child, data, authorization, errors);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => run(child, data, authorization, errors)));
      return;
    case 'Fetch': {
      const answer = await fetchFrom(node, authorization, {});
      Object.assign(data, answer.data);
      if (answer.errors) errors.push(...(answer.errors as unknown[]));
      return;
    }
    case 'Flatten': {
      const fetch = node.node;
      if (fetch.kind !== 'Fetch') throw new Error(`unexpected ${fetch.kind} under Flatten`);
      const targets = objectsAt(data, node.path, []);
      const answer = await fetchFrom(fetch, authorization, {
        representations: targets.map((target) => represent(target, fetch.requires ?? [])),
      });
      const entities = ((answer.data as Json | null)?._entities ?? []) as (Json | null)[];
      targets.forEach((target, i) => Object.assign(target, entities[i]));
      if (answer.errors) errors.push(...(answer.errors as unknown[]));
      return;
    }
    default:
      throw new Error(`the floor gateway runs no ${node.kind} node`);
  }
}

/** The client's selection of `value`: fields by response name, nothing the plan added. */
function shape(value: unknown, selections: SelectionSetNode): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((element) => shape(element, selections));
  const out: Json = {};
  for (const field of selections.selections) {
    if (field.kind !== Kind.FIELD) throw new Error('the feed query has only fields');
    const picked = (value as Json)[field.name.value];
    out[field.alias?.value ?? field.name.value] = field.selectionSet
      ? shape(picked, field.selectionSet)
      : (picked ?? null);
  }
  return out;
}

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/health') {
      answer(res, 200, { status: 'ok' });
      return;
    }
    const body =
      req.method === 'POST' ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json) : {};
    if (body.query !== FEED_QUERY || !root) {
      answer(res, 400, { errors: [{ message: 'this peer serves the feed query only' }] });
      return;
    }
    const data: Json = {};
    const errors: unknown[] = [];
    run(root, data, req.headers.authorization, errors).then(
      () => answer(res, 200, { data: shape(data, selection), ...(errors.length && { errors }) }),
      (error: unknown) => answer(res, 502, { errors: [{ message: String(error) }] }),
    );
  });
}).listen(Number(process.env.BENCH_PORT), '127.0.0.1');
// Exits rather than dies on the bench's SIGTERM, so that `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
