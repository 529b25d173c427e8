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
 * A lease is at most this share of what is left of a budget: however many replicas hold one, a
 * caller moving between them is refused at worst about 1/16 of the remainder early per replica.
 * Near the end of a budget a lease is one point, so the last points are counted exactly.
 */
const LEASE_DIVISOR = 16;
/** The most points one lease takes, so that an idle replica strands little of a big budget. */
const MAX_LEASE = 64;
/** Leases kept at most; past it, expired ones go, then the oldest (their points are lost). */
const MAX_LEASES = 100_000;

/**
 * Takes a lease of points from each budget in order, in fixed windows that start with a key's
 * first point, and stops at the first budget already spent (the ones before it stay taken). A
 * lease of 0 points is a budget the replica spends from a lease it holds: left alone here. For
 * each key it answers the points granted (the part of the lease within budget, 0 when spent),
 * the window's milliseconds left, and the points taken from it by every replica.
 * Each window is the key's own TTL, so replicas share it.
 */
const LEASE_SCRIPT = `
local answer = {}
for i, key in ipairs(KEYS) do
  local points = tonumber(ARGV[2 * i])
  local wanted = tonumber(ARGV[2 * i + 1])
  if wanted == 0 then
    table.insert(answer, 0)
    table.insert(answer, 0)
    table.insert(answer, 0)
  else
    local taken = redis.call('incrby', key, wanted)
    local left = redis.call('pttl', key)
    if left < 0 then
      redis.call('pexpire', key, ARGV[1])
      left = tonumber(ARGV[1])
    end
    local granted = math.max(0, math.min(wanted, points - (taken - wanted)))
    table.insert(answer, granted)
    table.insert(answer, left)
    table.insert(answer, taken)
    if granted == 0 then return answer end
  end
end
return answer
`;

interface LeasingRedis {
  /** `LEASE_SCRIPT`: the key count, the keys, the window in ms, then each key's points and lease. */
  gatewayLeaseBudgets(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/** Points of one budget this process holds for one caller, until its window ends. */
interface Lease {
  points: number;
  /** When the window ends, on `performance.now()`'s clock. */
  endsAt: number;
  /** What the budget had left when last asked: the next lease is a share of it. */
  remaining: number;
}

interface Budget {
  key: (id: string) => string;
  points: number;
  memory: RateLimiterMemory;
}

/**
 * Budgets in Redis, shared by every gateway replica. A replica takes points ahead of need, a lease
 * of a share of what a budget has left (`LEASE_DIVISOR`, `MAX_LEASE`), and spends them in memory:
 * a caller well within budget costs one Redis command per lease, not one per operation, and
 * callers near the end of a budget get one point per command, as exact as without leases. Callers
 * that need a lease of the same budget at once share one command. Redis slow or away must not
 * fail requests: the budgets then fall back to per-process memory limiters of the same size.
 */
export function createRateLimiter(redis: Redis, prefix: string, limits: RateLimits) {
  redis.defineCommand('gatewayLeaseBudgets', { lua: LEASE_SCRIPT });
  const scripts = redis as unknown as LeasingRedis;
  const budget = (name: string, points: number): Budget => ({
    key: (id: string) => `${prefix}:rate:${name}:${id}`,
    points,
    memory: new RateLimiterMemory({ points, duration: WINDOW_SECONDS }),
  });
  const perIp = budget('ip', limits.perIpPerMinute);
  const perUser = budget('user', limits.perUserPerMinute);
  const mutations = budget('mutation', limits.mutationsPerUserPerMinute);
  const leases = new Map<string, Lease>();
  /** Lease commands in flight, by key: a caller that needs the same lease waits for that one. */
  const leasing = new Map<string, Promise<unknown>>();

  async function fromMemory(spent: { budget: Budget; id: string }[]) {
    try {
      for (const { budget: each, id } of spent) await each.memory.consume(id);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return secondsOf(rejection.msBeforeNext);
      throw rejection;
    }
  }

  const usable = (lease: Lease | undefined, now: number) =>
    lease !== undefined && lease.points > 0 && lease.endsAt > now;

  function forgetStale(now: number) {
    if (leases.size < MAX_LEASES) return;
    for (const [key, lease] of leases) if (lease.endsAt <= now) leases.delete(key);
    for (const key of leases.keys()) {
      if (leases.size < MAX_LEASES) break;
      leases.delete(key);
    }
  }

  /**
   * Spends one point of each budget in order, from the leases this process holds where it can and
   * from new leases where it cannot, and stops at the first budget already spent: the ones before
   * it stay spent, the ones after it keep their points. Answers the seconds until the spent
   * budget's window ends, or 0.
   */
  async function spendLeased(spent: { budget: Budget; key: string }[]): Promise<number> {
    const now = performance.now();
    const held = spent.map(({ key }) => {
      const lease = leases.get(key);
      if (!usable(lease, now)) return undefined;
      (lease as Lease).points--;
      return lease;
    });
    const wanted = spent.map(({ budget: each, key }, i) => {
      if (held[i]) return 0;
      const lease = leases.get(key);
      const remaining = lease && lease.endsAt > now ? lease.remaining : each.points;
      return Math.max(1, Math.min(MAX_LEASE, Math.floor(remaining / LEASE_DIVISOR)));
    });
    let answer: number[];
    try {
      answer = await scripts.gatewayLeaseBudgets(
        spent.length,
        ...spent.map(({ key }) => key),
        WINDOW_SECONDS * 1_000,
        ...spent.flatMap(({ budget: each }, i) => [each.points, wanted[i] as number]),
      );
    } catch (error) {
      for (const lease of held) if (lease) lease.points++;
      throw error;
    }
    const answered = performance.now();
    forgetStale(answered);
    for (let i = 0; i < spent.length; i++) {
      if (held[i]) continue;
      const { budget: each, key } = spent[i] as { budget: Budget; key: string };
      const [granted = 0, left = 0, taken = 0] = answer.slice(3 * i, 3 * i + 3);
      const lease = leases.get(key);
      const carried = lease && lease.endsAt > answered ? lease.points : 0;
      leases.set(key, {
        points: carried + Math.max(0, granted - 1),
        endsAt: answered + left,
        remaining: Math.max(0, each.points - taken),
      });
      if (granted === 0) {
        for (const later of held.slice(i + 1)) if (later) later.points++;
        return secondsOf(left);
      }
    }
    return 0;
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
    const keyed = spent.map(({ budget: each, id }) => ({ budget: each, key: each.key(id) }));
    try {
      // A lease in flight for one of these budgets may leave enough for this caller too.
      const pending = keyed.map(({ key }) => leasing.get(key)).filter((lease) => lease);
      if (pending.length > 0) await Promise.all(pending);
      const now = performance.now();
      if (keyed.every(({ key }) => usable(leases.get(key), now))) {
        for (const { key } of keyed) (leases.get(key) as Lease).points--;
        return 0;
      }
      const leased = spendLeased(keyed);
      const settled = leased.then(
        () => undefined,
        () => undefined,
      );
      for (const { key } of keyed) leasing.set(key, settled);
      void settled.then(() => {
        for (const { key } of keyed) if (leasing.get(key) === settled) leasing.delete(key);
      });
      return await leased;
    } catch {
      return fromMemory(spent);
    }
  };
}

const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1_000));

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** RATE_LIMITED, HTTP 429 with Retry-After, for an operation over budget. */
export function rateLimited(seconds: number): GraphQLError {
  return new GraphQLError(`Too many requests; retry in ${seconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter: seconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) },
    },
  });
}

/** `rateLimited` for an operation Apollo Server runs, its budget spent once it is resolved. */
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
          if (seconds > 0) throw rateLimited(seconds);
        },
      };
    },
  };
}
