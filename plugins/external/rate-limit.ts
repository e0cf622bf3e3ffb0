// @fastify/rate-limit as the counters of the refusal budget (src/gateway/refusal-budget.ts), never
// as a hook on any route: only the content guard asks it, and only for refusals without a valid
// token. On the Redis store its counters live in Redis, so every replica spends one shared budget;
// on the embedded store (one process) they live in its bounded in-memory LRU.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { BudgetCounter } from '../../src/gateway/refusal-budget.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The refusal budget's counter, for one request: counts it against `key`'s budget of `max` per window. */
    refusalCounter: (request: FastifyRequest) => BudgetCounter
  }
}

/** Addresses (and tenants) tracked in memory per window on the embedded store; the least recent drop out. */
const LOCAL_KEYS = 10_000

async function refusalRateLimit (app: FastifyInstance, options: { config: Config }): Promise<void> {
  // The key and budget of the count under way: the plugin asks for them by request.
  const counting = new WeakMap<FastifyRequest, { key: string, max: number }>()
  const shared = app.stores.redis
  await app.register(rateLimit, {
    global: false,
    timeWindow: options.config.refusalBudget.windowMs,
    keyGenerator: (request) => (counting.get(request) as { key: string }).key,
    max: (request) => (counting.get(request) as { max: number }).max,
    // A counter Redis cannot answer throws; the budget then records the refusal on its own.
    skipOnError: false,
    cache: LOCAL_KEYS,
    ...(shared === undefined ? {} : { redis: shared.client, nameSpace: shared.refusalBudgetPrefix })
  })
  const limit = app.createRateLimit()
  app.decorate('refusalCounter', (request: FastifyRequest): BudgetCounter => async (key, max) => {
    counting.set(request, { key, max })
    const verdict = await limit(request)
    /* c8 ignore next -- no allow list is configured: the limiter never lets a key through outright */
    if (verdict.isAllowed) return { exceeded: false, retryAfterSeconds: 0 }
    return { exceeded: verdict.isExceeded, retryAfterSeconds: verdict.ttlInSeconds }
  })
}

export default fp(refusalRateLimit, { name: 'rate-limit', dependencies: ['stores'] })
