// The live feed misses records: a replica's pub/sub connection is away while another replica
// commits (Redis does not keep what it publishes meanwhile). What arrives after it is back begins
// past the forwarder's cursor, with a hole before it: the forwarder reads the hole from the store
// instead of skipping it or waiting for its next rescan. A Redis of this file's own, since the
// replica's connection is cut through an ACL user.
import t from 'tap'
import { Redis } from 'ioredis'
import { toOcsf } from '../../src/domain/ocsf.js'
import { SiemForwarder } from '../../src/siem/forwarder.js'
import { hecSink } from '../../src/siem/hec.js'
import { quietLog as quiet } from '../../src/log.js'
import { startHecReceiver } from '../helpers/hec-receiver.js'
import { freshNamespace, openTestStores, startRedisServer } from '../helpers/redis.js'
import { checkDelivery, commitRecords, waitUntil } from '../helpers/siem.js'

t.test('records the live feed missed are read from the store when later ones arrive after the hole', async (t) => {
  const server = await startRedisServer()
  t.teardown(server.stop)
  const admin = new Redis(server.url)
  t.teardown(() => { admin.disconnect() })
  // The forwarding replica connects as a user of its own, so that its connections alone can be cut.
  await admin.call('ACL', 'SETUSER', 'forwarder', 'on', '>secret', '~*', '&*', '+@all')
  const namespace = freshNamespace()
  const committing = await openTestStores(t, { url: server.url }, { namespace })
  const url = new URL(server.url)
  url.username = 'forwarder'
  url.password = 'secret'
  const forwarding = await openTestStores(t, { url: url.toString() }, { namespace })

  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const forwarder = new SiemForwarder({
    sink: hecSink({ url: receiver.url, token: receiver.token, render: toOcsf, sourcetype: 'lockbox:ocsf', ackPollMs: 20 }),
    cursors: forwarding.siemCursors,
    audit: forwarding.audit,
    tenants: () => ['contoso'],
    now: Date.now,
    log: quiet,
    // No rescan during the test: only the hole can send the forwarder to the store.
    rescanMs: 3_600_000
  })
  t.teardown(async () => { await forwarder.stop() })
  forwarder.start(20)
  // Its first pass finds nothing in the store; from then on it delivers from the live feed.
  await forwarder.deliver()
  await commitRecords(committing, 'contoso', 3, 1)
  await waitUntil(() => receiver.events.length === 3, 'the first 3 records arrived')

  // The forwarding replica's pub/sub connection is cut and cannot come back while its user is off
  // (a connection already signed in, its command client, goes on): the records committed meanwhile
  // are published to nobody.
  await admin.call('ACL', 'SETUSER', 'forwarder', 'off')
  t.equal(await admin.call('CLIENT', 'KILL', 'USER', 'forwarder', 'TYPE', 'pubsub'), 1, 'one connection cut')
  await commitRecords(committing, 'contoso', 2, 1)
  const renewed = new Promise<void>((resolve) => { forwarding.grantEvents.resubscribed(resolve) })
  await admin.call('ACL', 'SETUSER', 'forwarder', 'on')
  await renewed
  t.equal(receiver.events.length, 3, 'the missed records did not arrive by themselves')
  // The replica reads what the feed announces through its command client: that one must be up too.
  t.equal(await forwarding.ping(), true)

  await commitRecords(committing, 'contoso', 2, 1)
  await waitUntil(() => receiver.events.length >= 7, 'all 7 records arrived')
  await forwarder.deliver()
  const arrivals = receiver.events.map((e) => ({ seq: e.fields?.lockbox_seq as number, id: e.fields?.lockbox_id as string }))
  t.same(arrivals.map(({ seq }) => seq), [1, 2, 3, 4, 5, 6, 7], 'each once, in chain order')
  t.match(checkDelivery(arrivals, 7), { complete: true, resumes: [], gaps: [], conflicts: [], duplicates: 0 })
  const stored = (await committing.audit.query({ tenantId: 'contoso', limit: 10 })).items
  t.same(arrivals.map(({ id }) => id), stored.map((record) => record.id), 'the records the store holds')
  t.match(await committing.siemCursors.get('hec', 'contoso'), { seq: 7, owner: forwarder.owner })
})
