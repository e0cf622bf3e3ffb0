// Opens the configured backend (or takes one handed in by a test) and closes it with the app.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { Stores } from '../../src/stores/types.js'
import { openStores } from '../../src/stores/open.js'
import { unbackedRequests } from '../../src/stores/state-check.js'
import { describeMismatch } from '../../src/domain/invariant.js'
import { StateNotBackedError, StoreUnavailableError } from '../../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    stores: Stores
  }
}

export interface StoresOptions {
  config: Config
  stores?: Stores
  now: () => number
}

async function stores (app: FastifyInstance, options: StoresOptions): Promise<void> {
  const provided = options.stores
  const opened = provided ?? await openStores(options.config, { now: options.now, log: app.log })
  if (provided === undefined) await refuseUnbackedState(app, opened, options.now())
  // Both backends carry grant events and records to every process that opened them (LMDB by
  // polling its database, Redis by pub/sub and streams): no relay through the cluster primary.
  app.decorate('stores', opened)
  // A backend handed in by the caller is the caller's to close.
  if (provided === undefined) app.addHook('onClose', async () => { await opened.close() })
}

/**
 * Every request that grants access now must be in the state its chain leaves it in: one edited at
 * rest (Revoked → Approved in the data dir) would revive its old tokens. The gateway does not start
 * on such a state; `audit verify` reports every mismatch, of any status.
 */
async function refuseUnbackedState (app: FastifyInstance, opened: Stores, now: number): Promise<void> {
  let mismatch
  try {
    [mismatch] = await unbackedRequests(opened.lockbox, opened.audit, { approvedOnly: true, now, limit: 1 })
  } catch (err) {
    /* c8 ignore next -- stores fail with StoreUnavailableError only; anything else is a bug, and stops the start */
    if (!(err instanceof StoreUnavailableError)) throw err
    // A shared backend not answering yet: the gateway starts answering 503 meanwhile (as without
    // this check); `audit verify` still reports a mismatch once it answers.
    app.log.warn({ err }, 'could not check the stored state against the audit chain: the store does not answer')
    return
  }
  if (mismatch === undefined) return
  await opened.close()
  throw new StateNotBackedError(describeMismatch(mismatch))
}

export default fp(stores, { name: 'stores' })
