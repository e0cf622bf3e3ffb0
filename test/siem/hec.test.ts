// The HEC sink and its forwarder against a receiver that speaks Splunk's HEC protocol, on a real
// embedded store: every record arrives, in chain order per tenant, through a receiver that dies.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { toOcsf } from '../../src/domain/ocsf.js'
import { SiemForwarder, type ForwarderOptions } from '../../src/siem/forwarder.js'
import { hecEventUrl, hecSink } from '../../src/siem/hec.js'
import type { Stores } from '../../src/stores/types.js'
import { embedded } from './stores.js'
import { startHecReceiver, type HecEvent, type HecReceiver } from '../helpers/hec-receiver.js'
import { ocsfErrors } from '../helpers/ocsf.js'
import { tempDir } from '../helpers/config.js'
import { checkDelivery, commitRecords, waitUntil } from '../helpers/siem.js'
import type { Test } from '../stores/contract-fixtures.js'
import { quietLog as quiet } from '../../src/log.js'

function forwarder (t: Test, stores: Stores, receiver: HecReceiver, options: Partial<ForwarderOptions> = {}): SiemForwarder {
  const f = new SiemForwarder({
    sink: hecSink({ url: receiver.url, token: receiver.token, render: toOcsf, sourcetype: 'lockbox:ocsf', timeoutMs: 2000, ackPollMs: 20 }),
    cursors: stores.siemCursors,
    audit: stores.audit,
    tenants: () => ['contoso', 'fabrikam'],
    now: Date.now,
    log: quiet,
    baseDelayMs: 50,
    maxDelayMs: 200,
    ...options
  })
  t.teardown(async () => { await f.stop() })
  return f
}

const arrivals = (events: HecEvent[], tenantId: string): Array<{ seq: number, id: string }> =>
  events.filter((e) => e.fields?.lockbox_tenant === tenantId).map((e) => ({ seq: e.event.metadata.sequence as number, id: e.event.metadata.uid as string }))

t.test('delivers every tenant\'s records to HEC in chain order, as OCSF events, acknowledged', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver({ acks: true })
  t.teardown(receiver.stop)
  await commitRecords(stores, 'contoso', 30)
  const delivered: number[] = []
  const f = forwarder(t, stores, receiver, { batch: 8, onDelivered: (count) => { delivered.push(count) } })
  f.start(50)
  await commitRecords(stores, 'fabrikam', 12, 3)
  await commitRecords(stores, 'contoso', 20, 1)
  await waitUntil(() => receiver.events.length >= 62, 'all 62 records arrived')
  await sleep(200)
  t.equal(receiver.events.length, 62, 'no record twice without a failure')
  t.match(checkDelivery(arrivals(receiver.events, 'contoso'), 50), { complete: true, resumes: [], gaps: [], duplicates: 0 })
  t.match(checkDelivery(arrivals(receiver.events, 'fabrikam'), 12), { complete: true, resumes: [], gaps: [], duplicates: 0 })
  for (const e of receiver.events) t.same(ocsfErrors(e.event), [], `seq ${e.event.metadata.sequence as number} is valid OCSF`)
  t.match(receiver.events[0], { source: 'lockbox-gateway', sourcetype: 'lockbox:ocsf', fields: { lockbox_tenant: 'contoso', lockbox_seq: 1 } })
  t.equal(receiver.events[0]?.time, receiver.events[0]?.event.time / 1000)
  t.ok(delivered.every((n) => n <= 8), 'batches are at most the batch size')
  t.same(f.lag(), { records: 0, seconds: 0 })
  const cursor = await stores.siemCursors.get('hec', 'contoso')
  t.match(cursor, { seq: 50, owner: f.owner })
  t.equal(cursor?.hash, receiver.events.filter((e) => e.fields?.lockbox_tenant === 'contoso').at(-1)?.event.unmapped.lockbox.hash)
})

t.test('a receiver killed mid-stream and restarted still gets every record, in order, repeated only from the resume point', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver({ acks: true, ackDelayMs: 20 })
  t.teardown(receiver.stop)
  let failures = 0
  const f = forwarder(t, stores, receiver, { batch: 20, onFailure: () => { failures++ } })
  f.start(50)
  const writing = (async () => {
    for (let i = 0; i < 40; i++) {
      await commitRecords(stores, i % 2 === 0 ? 'contoso' : 'fabrikam', 10, 5)
      await sleep(10)
    }
  })()
  await waitUntil(() => receiver.events.length >= 60, 'some records arrived')
  await receiver.kill()
  await sleep(300)
  t.ok(f.lag().records > 0, 'records wait while the receiver is down')
  await receiver.start()
  await waitUntil(() => receiver.events.length >= 120 + 100, 'more records arrived')
  receiver.failNext(2, 503)
  await writing
  await waitUntil(() => new Set(receiver.events.map((e) => e.fields?.lockbox_id)).size === 400, 'every record arrived')
  for (const tenantId of ['contoso', 'fabrikam']) {
    const delivery = checkDelivery(arrivals(receiver.events, tenantId), 200)
    t.match(delivery, { complete: true, gaps: [], conflicts: [] }, `${tenantId}: every record, in order`)
    t.ok(delivery.resumes.length <= failures, `${tenantId}: ${delivery.duplicates} duplicates, from ${delivery.resumes.length} resume points`)
  }
  t.ok(failures >= 1, `${failures} failed deliveries were retried`)
  t.ok(receiver.answers.includes(503))
  t.comment(`${receiver.events.length} events for 400 records`)
})

t.test('resumes from its cursor after a restart, and reads from the store when its buffer overflows', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const first = forwarder(t, stores, receiver, { tenants: () => ['contoso'] })
  first.start(50)
  await commitRecords(stores, 'contoso', 25)
  await waitUntil(() => receiver.events.length === 25, 'the first 25 arrived')
  await first.stop()
  t.match(await stores.siemCursors.get('hec', 'contoso'), { seq: 25, owner: null, leaseUntil: 0 }, 'stopping lets go of the lease')

  await commitRecords(stores, 'contoso', 200, 50)
  const second = forwarder(t, stores, receiver, { tenants: () => [], bufferLimit: 5, batch: 30 })
  second.start(50)
  await commitRecords(stores, 'contoso', 100, 25)
  await waitUntil(() => receiver.events.length === 325, 'all 325 arrived')
  await sleep(100)
  t.match(checkDelivery(arrivals(receiver.events, 'contoso'), 325), { complete: true, resumes: [], gaps: [], duplicates: 0 }, 'the second forwarder went on after seq 25')
})

t.test('keeps refused batches for later: a wrong token fails without moving the cursor', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  let failures = 0
  const f = new SiemForwarder({
    sink: hecSink({ url: `${receiver.url}/services/collector/event`, token: 'wrong', render: toOcsf, sourcetype: 'lockbox:ocsf' }),
    cursors: stores.siemCursors,
    audit: stores.audit,
    tenants: () => ['contoso'],
    now: Date.now,
    log: quiet,
    baseDelayMs: 50,
    onFailure: () => { failures++ }
  })
  t.teardown(async () => { await f.stop() })
  await commitRecords(stores, 'contoso', 3)
  await f.deliver()
  t.equal(failures, 1)
  t.same(receiver.answers, [403])
  t.match(await stores.siemCursors.get('hec', 'contoso'), { seq: 0 })
  t.equal(receiver.events.length, 0)
})

t.test('names the standard event endpoint for a bare collector URL and keeps a full one', async (t) => {
  t.equal(hecEventUrl('https://splunk.example:8088').href, 'https://splunk.example:8088/services/collector/event')
  t.equal(hecEventUrl('https://splunk.example:8088/services/collector/event/1.0').href, 'https://splunk.example:8088/services/collector/event/1.0')
})

t.test('fails a batch the collector never acknowledges once its time is up, and sends nothing after it', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver({ acks: true, ackDelayMs: 600_000 })
  t.teardown(receiver.stop)
  const records = await commitRecords(stores, 'contoso', 2)
  // Polled at the default interval (100 ms) until the time is up.
  const sink = hecSink({ url: receiver.url, token: receiver.token, render: toOcsf, sourcetype: 'lockbox:ocsf', timeoutMs: 250 })
  t.teardown(sink.close)
  await t.rejects(sink.send(records), /HEC did not acknowledge batch 0 within 250 ms/)
  t.equal(receiver.events.length, 2, 'the batch arrived, but was never said to be indexed')
})

t.test('sends over HTTPS to a collector it trusts through the configured CA, and takes its word on each batch', async (t) => {
  const dir = tempDir('lockbox-hec-tls-')
  t.teardown(dir.remove)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir.path, 'key.pem'), '-out', join(dir.path, 'cert.pem')], { stdio: 'ignore' })
  const cert = readFileSync(join(dir.path, 'cert.pem'), 'utf8')
  // A collector in front of Splunk may answer a batch without Splunk's code; a non-zero code refuses it.
  const answers = [{ text: 'Success' }, { text: 'No data', code: 5 }]
  const bodies: string[] = []
  const server = createServer({ key: readFileSync(join(dir.path, 'key.pem')), cert }, (req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      bodies.push(body)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers.shift() ?? { text: 'Success', code: 0 }))
    })
  })
  server.listen(0, 'localhost')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const url = `https://localhost:${(server.address() as AddressInfo).port}`
  const [record] = await commitRecords(await embedded(t), 'contoso', 1)

  const trusted = hecSink({ url, token: 't', render: (r) => r, sourcetype: 'lockbox:native', ca: cert, timeoutMs: 5000 })
  t.teardown(trusted.close)
  await trusted.send([record!])
  t.same(JSON.parse(bodies[0]!).event, record, 'the batch arrived over TLS')
  await t.rejects(trusted.send([record!]), /HEC refused the batch: No data \(code 5\)/)

  const untrusted = hecSink({ url, token: 't', render: (r) => r, sourcetype: 'lockbox:native', timeoutMs: 5000 })
  t.teardown(untrusted.close)
  await t.rejects(untrusted.send([record!]), /self-signed|certificate/)
  t.equal(bodies.length, 2, 'nothing reaches a collector it does not trust')
})
