// The Redis store behind Sentinel: it finds the master through the sentinels, and after a failover
// it finds the new one and carries on without reopening.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { StoreUnavailableError } from '../../src/errors.js'
import { RedisKeys } from '../../src/stores/redis/keys.js'
import type { Stores } from '../../src/stores/types.js'
import { freshNamespace, openTestStores, startRedisServer } from '../helpers/redis.js'
import { draft, newRequest, storeRequest } from './contract-fixtures.js'

async function commitOnce (stores: Stores): Promise<boolean> {
  try {
    await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
    return true
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    return false
  }
}

t.test('finds the master through Sentinel and the new one after a failover', async (t) => {
  const master = await startRedisServer()
  t.teardown(master.stop)
  const replica = await startRedisServer(['--replicaof', '127.0.0.1', String(master.port)])
  t.teardown(replica.stop)
  const toReplica = new Redis(replica.url)
  while (!(await toReplica.info('replication')).includes('master_link_status:up')) await sleep(50)
  toReplica.disconnect()
  const sentinel = await startRedisServer(['--sentinel'], {
    config: [
      `sentinel monitor lockbox-main 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds lockbox-main 500',
      'sentinel failover-timeout lockbox-main 2000'
    ].join('\n') + '\n'
  })
  t.teardown(sentinel.stop)

  const namespace = freshNamespace()
  const connection = { url: 'redis://ignored.invalid:1', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'lockbox-main' }
  const stores = await openTestStores(t, connection, { namespace, timing: { commandTimeoutMs: 500, connectTimeoutMs: 500, maxReconnectDelayMs: 100 } })
  const request = await storeRequest(stores, newRequest())
  const direct = new Redis(master.url)
  t.equal(await direct.hget(new RedisKeys(namespace).request('contoso', request.id), 'v'), '1', 'written on the master')
  direct.disconnect()
  // Acknowledged by the replica before the master goes, so the failover loses nothing.
  const waitReplica = new Redis(master.url)
  t.equal(await waitReplica.wait(1, 2000), 1)
  waitReplica.disconnect()

  await master.kill()
  let failedOver = false
  for (let tries = 0; tries < 200 && !failedOver; tries++) {
    failedOver = await commitOnce(stores)
    if (!failedOver) await sleep(50)
  }
  t.ok(failedOver, 'commits go on once Sentinel has promoted the replica')
  const promoted = new Redis(replica.url)
  t.teardown(() => promoted.disconnect())
  t.match(await promoted.info('replication'), /role:master/)
  t.same(await stores.lockbox.getRequest(request.id), request)
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 2 })
})
