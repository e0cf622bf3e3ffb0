// Picks the backend named by LOCKBOX_STORE.
import type { Config } from '../../config/schema.js'
import { openEmbeddedStores } from './embedded/index.js'
import { openRedisStores } from './redis/index.js'
import type { Stores } from './types.js'
import type { Log } from '../log.js'

export async function openStores (config: Config, options: { now: () => number, log: Log }): Promise<Stores> {
  if (config.store === 'redis') {
    options.log.debug({ sentinels: config.redisSentinels, clusterNodes: config.redisClusterNodes }, 'opening Redis store')
    return await openRedisStores({
      connection: {
        url: config.redisUrl,
        sentinels: config.redisSentinels,
        sentinelName: config.redisSentinelName,
        clusterNodes: config.redisClusterNodes
      },
      now: options.now,
      log: options.log
    })
  }
  options.log.debug({ dataDir: config.dataDir }, 'opening embedded store')
  return await openEmbeddedStores({ dataDir: config.dataDir, now: options.now, log: options.log })
}
