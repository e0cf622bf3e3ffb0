// Opens the configured backend (or takes one handed in by a test) and closes it with the app.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { Stores } from '../../src/stores/types.js'
import { openStores } from '../../src/stores/open.js'
import { BACKEND_CAPABILITIES } from '../../src/stores/capabilities.js'
import type { WorkerLink } from '../../src/cluster/messages.js'
import { relayStoreEvents } from '../../src/cluster/relay.js'

declare module 'fastify' {
  interface FastifyInstance {
    stores: Stores
  }
}

export interface StoresOptions {
  config: Config
  stores?: Stores
  now: () => number
  /** In a cluster worker: the link to the primary, which relays events a backend keeps in-process. */
  link?: WorkerLink
}

async function stores (app: FastifyInstance, options: StoresOptions): Promise<void> {
  const provided = options.stores
  const opened = provided ?? await openStores(options.config, { now: options.now, log: app.log })
  const relay = options.link !== undefined && !BACKEND_CAPABILITIES[options.config.store].eventsReachEveryProcess
    ? relayStoreEvents(opened, options.link)
    : null
  app.decorate('stores', relay?.stores ?? opened)
  app.addHook('onClose', async () => {
    relay?.stop()
    // A backend handed in by the caller is the caller's to close.
    if (provided === undefined) await opened.close()
  })
}

export default fp(stores, { name: 'stores' })
