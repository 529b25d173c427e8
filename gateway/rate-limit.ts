import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayContext } from './context.js';

export interface RateLimits {
  /** Operations per minute from one IP address, signed in or not. */
  perIpPerMinute: number;
  /** Operations per minute by one user. */
  perUserPerMinute: number;
  /** Mutations per minute by one user, on top of the operation budget. */
  mutationsPerUserPerMinute: number;
}

/**
 * Budgets in Redis, shared by every gateway replica. Redis slow or away must not fail requests:
 * each limiter then falls back to a per-process memory limiter with the same budget.
 */
export function createRateLimiter(redis: Redis, prefix: string, limits: RateLimits) {
  const limiter = (name: string, points: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:rate:${name}`,
      points,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration: 60 }),
    });
  const perIp = limiter('ip', limits.perIpPerMinute);
  const perUser = limiter('user', limits.perUserPerMinute);
  const mutations = limiter('mutation', limits.mutationsPerUserPerMinute);

  /** Seconds until the caller may try again, or 0 when the operation is within budget. */
  return async function retryAfter(caller: {
    ip: string;
    userId: string | undefined;
    mutation: boolean;
  }) {
    try {
      await perIp.consume(caller.ip);
      if (caller.userId) {
        await perUser.consume(caller.userId);
        if (caller.mutation) await mutations.consume(caller.userId);
      }
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes)
        return Math.max(1, Math.ceil(rejection.msBeforeNext / 1_000));
      throw rejection;
    }
  };
}

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
