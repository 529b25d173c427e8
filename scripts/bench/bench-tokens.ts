import { jwtVerify } from 'jose';
import {
  createTokenVerifier,
  DEV_JWT_SECRET,
  readAuthConfig,
  signDevToken,
} from '../../platform/auth.js';
import { numberOption, readOptions } from '../command-line.js';

/**
 * `npm run bench:tokens`: CPU per token a process meets for the first time, as in a like storm
 * from new users, where the gateway and the likes subgraph each check every like's token. Side by
 * side, in alternating rounds: our verifier (`createTokenVerifier` with the shared secret, checked
 * synchronously with `node:crypto`) and `jose`'s `jwtVerify` with the key imported into WebCrypto
 * once (what the verifier did before). Each round checks `--tokens` tokens never seen before, all
 * in flight at once and then one after another.
 */
const values = readOptions(
  'npm run bench:tokens --',
  'CPU per first-seen HS256 token: our verifier against jose on WebCrypto, side by side.',
  { tokens: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '3' } },
);
const count = numberOption('tokens', values.tokens);
const rounds = numberOption('rounds', values.rounds);

const ours = createTokenVerifier(readAuthConfig({}));
const key = await crypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(DEV_JWT_SECRET),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);
const options = { algorithms: ['HS256'], clockTolerance: 5, requiredClaims: ['sub'] };
const verifiers: Record<string, (token: string) => Promise<unknown>> = {
  ours: (token) => ours.fromHeader(`Bearer ${token}`),
  'jose (WebCrypto)': (token) => jwtVerify(token, key, options),
};

let batch = 0;
/** Tokens nobody has checked yet: each batch names users of its own. */
const freshTokens = () => {
  batch++;
  return Promise.all(Array.from({ length: count }, (_, i) => signDevToken(`b${batch}-${i}`)));
};
async function microsPerToken(check: (token: string) => Promise<unknown>, together: boolean) {
  const tokens = await freshTokens();
  const before = process.cpuUsage();
  if (together) await Promise.all(tokens.map(check));
  else for (const token of tokens) await check(token);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

const results = new Map<string, { together: number[]; oneByOne: number[] }>();
for (let round = 0; round < rounds; round++) {
  for (const [name, check] of Object.entries(verifiers)) {
    const result = results.get(name) ?? { together: [], oneByOne: [] };
    result.together.push(await microsPerToken(check, true));
    result.oneByOne.push(await microsPerToken(check, false));
    results.set(name, result);
  }
}
const list = (figures: number[]) => figures.map((figure) => figure.toFixed(1)).join(', ');
console.log(
  `| µs of CPU per new token (${count} per round, ${rounds} rounds) | all in flight | one by one |`,
);
console.log('| --- | --- | --- |');
for (const [name, result] of results) {
  console.log(`| ${name} | ${list(result.together)} | ${list(result.oneByOne)} |`);
}
