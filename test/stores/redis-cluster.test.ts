// The store contract on a real three-master Redis Cluster on loopback ports: every tenant's keys in
// one slot, scripts routed to the node that holds it, pub/sub across nodes.
import t from 'tap'
import { Cluster } from 'ioredis'
import { openRedisStores } from '../../src/stores/redis/index.js'
import { RedisKeys } from '../../src/stores/redis/keys.js'
import { freshNamespace, openTestStores, removeNamespace, startRedisCluster } from '../helpers/redis.js'
import { storeContract } from './contract.js'
import { draft } from './contract-fixtures.js'
import type { GrantEvent } from '../../src/stores/types.js'
import { eventually } from '../helpers/eventually.js'

const cluster = await startRedisCluster()
t.teardown(cluster.stop)
const connection = { url: cluster.url, clusterNodes: cluster.nodes }
const namespaces: string[] = []
t.teardown(async () => { for (const namespace of namespaces) await removeNamespace(connection, namespace) })

t.test('passes the store contract on a Redis Cluster', async (t) => {
  storeContract(t, async () => {
    const namespace = freshNamespace()
    namespaces.push(namespace)
    return await openRedisStores({ connection, namespace })
  })
})

t.test('spreads tenants over the cluster\'s slots, each tenant in one', async (t) => {
  const namespace = freshNamespace()
  const stores = await openTestStores(t, connection, { namespace })
  const tenants = Array.from({ length: 12 }, (_, index) => `tenant-${index}`)
  for (const tenantId of tenants) await stores.lockbox.commit({ tenantId, audit: [draft('ContentAccessed', { tenantId, requestId: 'r-1' })] })
  const client = new Cluster(cluster.nodes)
  t.teardown(() => client.disconnect())
  const keys = new RedisKeys(namespace)
  const slots = await Promise.all(tenants.map(async (tenantId) => new Set(await Promise.all(
    [keys.auditStream(tenantId), keys.auditHead(tenantId), keys.auditByRequest(tenantId), keys.request(tenantId, 'r-1'), keys.notification(tenantId, 'n-1'),
      keys.notifications(tenantId), keys.notificationsByStatus(tenantId), keys.notificationsByRequest(tenantId), keys.notificationsDue(tenantId)]
      .map(async (key) => await client.cluster('KEYSLOT', key))))))
  t.ok(slots.every((set) => set.size === 1), 'a tenant\'s keys share a slot')
  t.ok(new Set(slots.map((set) => [...set][0])).size > 1, 'tenants do not')
  t.equal((await stores.audit.query({ requestId: 'r-1', limit: 100 })).items.length, 12, 'a query spans every node')
})

t.test('carries grant events between replicas through any node', async (t) => {
  const namespace = freshNamespace()
  const a = await openTestStores(t, connection, { namespace })
  const b = await openTestStores(t, connection, { namespace })
  const heard: GrantEvent[] = []
  t.teardown(b.grantEvents.subscribe((event) => heard.push(event)))
  await a.grantEvents.publish({ requestId: 'r-1', tenantId: 'contoso', status: 'Revoked' })
  await eventually('heard.length === 1', () => heard.length === 1)
})
