import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayContext } from './context.js';

export interface RateLimits {
  /** Operations per minute from one IP address, signed in or not. */
  perIpPerMinute: number;
  /** Operations per minute by one user. */
  perUserPerMinute: number;
  /** Mutations per minute by one user, on top of the operation budget. */
  mutationsPerUserPerMinute: number;
}

const WINDOW_SECONDS = 60;

/**
 * Spends one point of each budget in order, in fixed windows that start with a key's first point,
 * and stops at the first budget already spent (the ones before it stay spent). Answers the spent
 * budget's position (1-based) and its milliseconds left, or 0 when every budget had room.
 * Each window is the key's own TTL, so replicas share it.
 */
const SPEND_SCRIPT = `
for i, key in ipairs(KEYS) do
  local spent = redis.call('incr', key)
  local left = redis.call('pttl', key)
  if left < 0 then
    redis.call('pexpire', key, ARGV[1])
    left = tonumber(ARGV[1])
  end
  if spent > tonumber(ARGV[i + 1]) then return {i, left} end
end
return {0, 0}
`;

interface SpendingRedis {
  /** `SPEND_SCRIPT`: the key count, the keys, the window in ms, then each key's points. */
  gatewaySpendBudgets(
    keyCount: number,
    ...keysThenArgs: (string | number)[]
  ): Promise<[number, number]>;
}

/**
 * Budgets in Redis, shared by every gateway replica: one script call per operation spends all of
 * its budgets, so a request costs one Redis command, and concurrent requests' commands go out in
 * one write (auto-pipelining). Redis slow or away must not fail requests: the budgets then fall
 * back to per-process memory limiters of the same size.
 */
export function createRateLimiter(redis: Redis, prefix: string, limits: RateLimits) {
  redis.defineCommand('gatewaySpendBudgets', { lua: SPEND_SCRIPT });
  const scripts = redis as unknown as SpendingRedis;
  const budget = (name: string, points: number) => ({
    key: (id: string) => `${prefix}:rate:${name}:${id}`,
    points,
    memory: new RateLimiterMemory({ points, duration: WINDOW_SECONDS }),
  });
  const perIp = budget('ip', limits.perIpPerMinute);
  const perUser = budget('user', limits.perUserPerMinute);
  const mutations = budget('mutation', limits.mutationsPerUserPerMinute);

  async function fromMemory(spent: { budget: ReturnType<typeof budget>; id: string }[]) {
    try {
      for (const { budget: each, id } of spent) await each.memory.consume(id);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return secondsOf(rejection.msBeforeNext);
      throw rejection;
    }
  }

  /** Seconds until the caller may try again, or 0 when the operation is within budget. */
  return async function retryAfter(caller: {
    ip: string;
    userId: string | undefined;
    mutation: boolean;
  }) {
    const spent = [{ budget: perIp, id: caller.ip }];
    if (caller.userId) {
      spent.push({ budget: perUser, id: caller.userId });
      if (caller.mutation) spent.push({ budget: mutations, id: caller.userId });
    }
    if (redis.status !== 'ready') return fromMemory(spent);
    let answer: [number, number];
    try {
      answer = await scripts.gatewaySpendBudgets(
        spent.length,
        ...spent.map(({ budget: each, id }) => each.key(id)),
        WINDOW_SECONDS * 1_000,
        ...spent.map(({ budget: each }) => each.points),
      );
    } catch {
      return fromMemory(spent);
    }
    return answer[0] === 0 ? 0 : secondsOf(answer[1]);
  };
}

const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1_000));

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** RATE_LIMITED, HTTP 429 with Retry-After, for an operation over budget. */
export function rateLimit(limiter: RateLimiter): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didResolveOperation({ operation }) {
          if (contextValue.ip === undefined) return; // the gateway's own follow-up query
          const seconds = await limiter({
            ip: contextValue.ip,
            userId: contextValue.viewer?.id,
            mutation: operation?.operation === 'mutation',
          });
          if (seconds === 0) return;
          throw new GraphQLError(`Too many requests; retry in ${seconds} s`, {
            extensions: {
              code: 'RATE_LIMITED',
              retryAfter: seconds,
              http: { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) },
            },
          });
        },
      };
    },
  };
}
