// Several replicas on one Redis: each tenant is delivered by the one forwarder holding its lease, so
// no batch goes out twice at once; when that replica dies, another takes over once the lease runs out.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { toOcsf } from '../../src/domain/ocsf.js'
import { SiemForwarder } from '../../src/siem/forwarder.js'
import { hecSink } from '../../src/siem/hec.js'
import type { Stores } from '../../src/stores/types.js'
import { startHecReceiver, type HecEvent, type HecReceiver } from '../helpers/hec-receiver.js'
import { freshNamespace, openTestStores, redisForTests } from '../helpers/redis.js'
import { checkDelivery, commitRecords, waitUntil } from '../helpers/siem.js'
import type { Test } from '../stores/contract-fixtures.js'
import { quietLog as quiet } from '../../src/log.js'

const url = await redisForTests(t)
const connection = { url }

function forwarder (stores: Stores, receiver: HecReceiver, leaseMs: number): SiemForwarder {
  return new SiemForwarder({
    sink: hecSink({ url: receiver.url, token: receiver.token, render: toOcsf, sourcetype: 'lockbox:ocsf' }),
    cursors: stores.siemCursors,
    audit: stores.audit,
    tenants: () => ['contoso', 'fabrikam', 'northwind'],
    now: Date.now,
    log: quiet,
    leaseMs,
    rescanMs: 200,
    batch: 10,
    baseDelayMs: 50
  })
}

async function replicas (t: Test): Promise<[Stores, Stores]> {
  const namespace = freshNamespace()
  return [await openTestStores(t, connection, { namespace }), await openTestStores(t, connection, { namespace })]
}

const arrivals = (events: HecEvent[], tenantId: string): Array<{ seq: number, id: string }> =>
  events.filter((e) => e.fields?.lockbox_tenant === tenantId).map((e) => ({ seq: e.fields?.lockbox_seq as number, id: e.fields?.lockbox_id as string }))

t.test('two replicas deliver every record once: each tenant by the replica holding its lease', async (t) => {
  const [a, b] = await replicas(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const fa = forwarder(a, receiver, 10_000)
  const fb = forwarder(b, receiver, 10_000)
  t.teardown(async () => { await Promise.all([fa.stop(), fb.stop()]) })
  fa.start(20)
  fb.start(20)
  // Replicas append to one tenant's chain in turn (racing appends to one chain retry in the store).
  await Promise.all([
    commitRecords(a, 'contoso', 120, 4).then(async () => await commitRecords(b, 'contoso', 80, 4)),
    commitRecords(b, 'fabrikam', 100, 5),
    commitRecords(a, 'northwind', 60, 3)
  ])
  await waitUntil(() => receiver.events.length >= 360, 'all 360 records arrived')
  await sleep(500)
  t.equal(receiver.events.length, 360, 'none twice')
  for (const [tenantId, total] of [['contoso', 200], ['fabrikam', 100], ['northwind', 60]] as const) {
    t.match(checkDelivery(arrivals(receiver.events, tenantId), total), { complete: true, resumes: [], gaps: [], duplicates: 0 }, tenantId)
    const cursor = await a.siemCursors.get('hec', tenantId)
    t.ok(cursor?.owner === fa.owner || cursor?.owner === fb.owner, `${tenantId} is leased to one of them`)
  }
})

t.test('when the replica holding a lease dies, another takes over once the lease runs out, from its cursor', async (t) => {
  const [a, b] = await replicas(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const fa = forwarder(a, receiver, 600)
  fa.start(20)
  await commitRecords(a, 'contoso', 40)
  await waitUntil(() => receiver.events.length === 40, 'the first 40 arrived')
  // A crash: the forwarder stops without letting go of its leases (its store is still open), so
  // its private timer is reached past stop().
  clearInterval(fa['timer'] as NodeJS.Timeout)
  fa['stopped'] = true
  t.match(await b.siemCursors.get('hec', 'contoso'), { owner: fa.owner, seq: 40 })

  const fb = forwarder(b, receiver, 600)
  t.teardown(async () => { await fb.stop() })
  fb.start(20)
  await commitRecords(b, 'contoso', 30)
  await sleep(200)
  t.equal(receiver.events.length, 40, 'nothing is delivered while the dead replica\'s lease lasts')
  await waitUntil(() => receiver.events.length === 70, 'the other replica delivered the rest')
  t.match(checkDelivery(arrivals(receiver.events, 'contoso'), 70), { complete: true, resumes: [], gaps: [], duplicates: 0 })
  t.match(await b.siemCursors.get('hec', 'contoso'), { owner: fb.owner, seq: 70 })
})
