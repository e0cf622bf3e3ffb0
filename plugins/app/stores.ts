// Opens the configured backend (or takes one handed in by a test) and closes it with the app.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { Stores } from '../../src/stores/types.js'
import { openStores } from '../../src/stores/open.js'

declare module 'fastify' {
  interface FastifyInstance {
    stores: Stores
  }
}

export interface StoresOptions { config: Config, stores?: Stores, now: () => number }

async function stores (app: FastifyInstance, options: StoresOptions): Promise<void> {
  const provided = options.stores
  const opened = provided ?? await openStores(options.config, { now: options.now, log: app.log })
  app.decorate('stores', opened)
  // A backend handed in by the caller is the caller's to close.
  if (provided === undefined) app.addHook('onClose', async () => { await opened.close() })
}

export default fp(stores, { name: 'stores' })
