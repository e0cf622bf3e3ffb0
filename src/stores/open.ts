// Picks the backend named by LOCKBOX_STORE.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/schema.js'
import { openEmbeddedStores } from './embedded/index.js'
import type { Stores } from './types.js'

export async function openStores (config: Config, options: { now: () => number, log: FastifyBaseLogger }): Promise<Stores> {
  if (config.store === 'redis') {
    throw new Error('LOCKBOX_STORE=redis: the Redis backend is not available in this build')
  }
  options.log.debug({ dataDir: config.dataDir }, 'opening embedded store')
  return await openEmbeddedStores({ dataDir: config.dataDir, now: options.now })
}
