import t from 'tap'
import Fastify from 'fastify'
import { openStores } from '../../src/stores/open.js'
import { testConfig, tempDir } from '../helpers/config.js'
import { startRedisServer } from '../helpers/redis.js'
import { draft } from './contract-fixtures.js'

const log = Fastify({ logger: false }).log

t.test('opens the embedded store in the data dir by default', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const stores = await openStores(testConfig(dir.path), { now: Date.now, log })
  t.teardown(() => stores.close())
  t.equal(await stores.ping(), true)
  t.match(await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }), [{ seq: 1 }])
})

t.test('opens the Redis store named by LOCKBOX_STORE=redis at LOCKBOX_REDIS_URL', async (t) => {
  const redis = await startRedisServer()
  t.teardown(redis.stop)
  const dir = tempDir()
  t.teardown(dir.remove)
  const config = testConfig(dir.path, { store: 'redis', redisUrl: redis.url, redisSentinels: [], redisSentinelName: 'mymaster', redisClusterNodes: [] })
  const stores = await openStores(config, { now: Date.now, log })
  t.teardown(() => stores.close())
  t.equal(await stores.ping(), true)
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  const again = await openStores(config, { now: Date.now, log })
  t.teardown(() => again.close())
  t.same(await again.audit.head('contoso'), await stores.audit.head('contoso'), 'a second replica sees the same chain')
})
