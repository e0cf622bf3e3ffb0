// The syslog sink and its forwarder against a real rsyslogd (imtcp → file), on a real embedded store:
// RFC 5424 messages in octet-counting frames, every record in chain order through a receiver that is
// killed mid-stream; and over TLS to a receiver with a private CA.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createServer } from 'node:tls'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { sealRecord, EMPTY_HEAD } from '../../src/domain/audit.js'
import { toOcsf } from '../../src/domain/ocsf.js'
import { SiemForwarder, type ForwarderOptions, type SiemSink } from '../../src/siem/forwarder.js'
import { octetFrame, SD_ID, syslogMessage, syslogSink } from '../../src/siem/syslog.js'
import type { Stores } from '../../src/stores/types.js'
import { tempDir } from '../helpers/config.js'
import { embedded } from './stores.js'
import { ocsfErrors } from '../helpers/ocsf.js'
import { parseSyslogLine, startRsyslog, type SyslogLine } from '../helpers/rsyslog.js'
import { checkDelivery, commitRecords, waitUntil } from '../helpers/siem.js'
import { draft, type Test } from '../stores/contract-fixtures.js'
import { quietLog as quiet } from '../../src/log.js'

function forwarder (t: Test, stores: Stores, sink: SiemSink, options: Partial<ForwarderOptions> = {}): SiemForwarder {
  const f = new SiemForwarder({ sink, cursors: stores.siemCursors, audit: stores.audit, tenants: () => ['contoso', 'fabrikam'], now: Date.now, log: quiet, baseDelayMs: 50, maxDelayMs: 200, ...options })
  t.teardown(async () => { await f.stop() })
  return f
}

const seqOf = (line: SyslogLine): { tenant: string, seq: number, id: string } => {
  const m = /tenant="([^"]+)" seq="(\d+)" id="([^"]+)"/.exec(line.data) as RegExpExecArray
  return { tenant: m[1] as string, seq: Number(m[2]), id: m[3] as string }
}

t.test('writes RFC 5424 messages in octet-counting frames that rsyslog receives whole, in chain order', async (t) => {
  const rsyslog = await startRsyslog()
  t.teardown(rsyslog.stop)
  const stores = await embedded(t)
  const f = forwarder(t, stores, syslogSink({ url: rsyslog.url, render: toOcsf, settleMs: 20 }), { batch: 16 })
  f.start(50)
  await commitRecords(stores, 'contoso', 40)
  await stores.lockbox.commit({ tenantId: 'fabrikam', audit: [{ ...draft('ContentAccessDenied', { tenantId: 'fabrikam' }), result: 'Denied', details: { reason: 'quote " and ] and \\ and ünïcode' } }] })
  await waitUntil(() => rsyslog.lines().length >= 41, 'rsyslog wrote 41 messages')
  await sleep(100)
  const lines = rsyslog.lines()
  t.equal(lines.length, 41)
  const contoso = lines.map(seqOf).filter((l) => l.tenant === 'contoso')
  t.match(checkDelivery(contoso, 40), { complete: true, resumes: [], gaps: [], duplicates: 0 })
  const first = lines[0] as SyslogLine
  t.match(first, { pri: 13 * 8 + 6, app: 'lockbox-gateway', msgid: 'ContentAccessed' })
  t.match(first.data, new RegExp(`^\\[${SD_ID} tenant="contoso" seq="1" id="[0-9a-f-]{36}"\\]$`))
  t.same(ocsfErrors(first.message), [])
  t.equal((first.message as { metadata: { uid: string } }).metadata.uid, seqOf(first).id, 'the structured data and the event name the same record')
  const denied = lines.find((l) => seqOf(l).tenant === 'fabrikam') as SyslogLine
  t.equal(denied.pri, 13 * 8 + 4, 'a refusal is a warning')
  t.equal((denied.message as { unmapped: { lockbox: { details: { reason: string } } } }).unmapped.lockbox.details.reason, 'quote " and ] and \\ and ünïcode', 'the record survives whole')
})

t.test('rsyslog killed mid-stream and restarted still gets every record, in order, repeated only from the resume point', async (t) => {
  const rsyslog = await startRsyslog()
  t.teardown(rsyslog.stop)
  const stores = await embedded(t)
  let failures = 0
  const f = forwarder(t, stores, syslogSink({ url: rsyslog.url, render: toOcsf, settleMs: 300, connectTimeoutMs: 1000 }), { batch: 25, onFailure: () => { failures++ } })
  f.start(50)
  const writing = (async () => {
    for (let i = 0; i < 30; i++) {
      await commitRecords(stores, i % 2 === 0 ? 'contoso' : 'fabrikam', 10, 5)
      await sleep(15)
    }
  })()
  await waitUntil(() => rsyslog.lines().length >= 50, 'some records arrived')
  await rsyslog.kill()
  await sleep(300)
  await rsyslog.start()
  await writing
  await waitUntil(() => new Set(rsyslog.lines().map((l) => seqOf(l).id)).size === 300, 'every record arrived', 60_000)
  const lines = rsyslog.lines().map(seqOf)
  for (const tenantId of ['contoso', 'fabrikam']) {
    const delivery = checkDelivery(lines.filter((l) => l.tenant === tenantId), 150)
    t.match(delivery, { complete: true, gaps: [], conflicts: [] }, `${tenantId}: every record, in order`)
    t.ok(delivery.resumes.length <= failures, `${tenantId}: ${delivery.duplicates} duplicates from ${delivery.resumes.length} resume points`)
  }
  t.ok(failures >= 1, `${failures} failed deliveries were retried`)
})

t.test('sends over TLS to a receiver it trusts through the configured CA, and fails closed on one it does not', async (t) => {
  const dir = tempDir('lockbox-siem-tls-')
  t.teardown(dir.remove)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir.path, 'key.pem'), '-out', join(dir.path, 'cert.pem')], { stdio: 'ignore' })
  const cert = readFileSync(join(dir.path, 'cert.pem'), 'utf8')
  let received = ''
  const server = createServer({ key: readFileSync(join(dir.path, 'key.pem')), cert }, (socket) => {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { received += chunk })
  })
  server.listen(0, 'localhost')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const url = `tls://localhost:${(server.address() as AddressInfo).port}`
  const [record] = await commitRecords(await embedded(t), 'contoso', 1)

  const trusted = syslogSink({ url, render: (r) => r, ca: cert, settleMs: 10 })
  await trusted.send([record!])
  await waitUntil(() => received.length > 0 && received.length >= Number(received.split(' ')[0]) + received.indexOf(' ') + 1, 'the frame arrived')
  const length = Number(received.slice(0, received.indexOf(' ')))
  const message = received.slice(received.indexOf(' ') + 1)
  t.equal(Buffer.byteLength(message), length, 'the frame counts the message\'s octets')
  t.same(parseSyslogLine(message).message, record, 'the native format sends the record as stored')
  await trusted.close()

  const untrusted = syslogSink({ url, render: (r) => r, settleMs: 10 })
  await t.rejects(untrusted.send([record!]), /self-signed|certificate/)
  await untrusted.close()
})

t.test('refuses a URL that is not tcp or tls, and fails a send to a receiver that is not there', async (t) => {
  t.throws(() => syslogSink({ url: 'udp://127.0.0.1:514', render: (r) => r }), /tcp:\/\/ or tls:\/\//)
  const record = sealRecord(draft('ContentAccessed'), EMPTY_HEAD, { id: 'r1', time: '2026-01-01T00:00:00.000Z' })
  const gone = syslogSink({ url: 'tcp://127.0.0.1:1', render: (r) => r })
  await t.rejects(gone.send([record]), /ECONNREFUSED/)
  await gone.close()
})

t.test('fails a batch whose connection the receiver resets while it is still being written', async (t) => {
  // It reads the start of the batch, then resets: the rest, more than the sockets buffer, is still on its way.
  const server = createTcpServer((socket) => { socket.once('data', () => { socket.resetAndDestroy() }) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const record = sealRecord(draft('ContentAccessed'), EMPTY_HEAD, { id: 'r1', time: '2026-01-01T00:00:00.000Z' })
  const sink = syslogSink({ url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, render: (r) => ({ ...r, padding: 'x'.repeat(32 * 1024 * 1024) }), settleMs: 10 })
  t.teardown(sink.close)
  await t.rejects(sink.send([record]), /the syslog connection closed before the batch was confirmed/)
})

t.test('frames by octets, escapes structured data, and keeps header fields printable', async (t) => {
  t.equal(octetFrame('ünï'), '5 ünï', 'ü and ï are two octets each')
  const record = sealRecord({ ...draft('ContentAccessed'), tenantId: 'a"b]c\\d' }, EMPTY_HEAD, { id: 'id"1', time: '2026-01-01T00:00:00.000Z' })
  const message = syslogMessage({ ...record, result: 'Odd' as 'Success' }, (r) => ({ id: r.id }), 'host with spaces')
  t.equal(message, '<109>1 2026-01-01T00:00:00.000Z hostwithspaces lockbox-gateway - ContentAccessed [lockbox@32473 tenant="a\\"b\\]c\\\\d" seq="1" id="id\\"1"] {"id":"id\\"1"}')
  t.match(syslogMessage(record, (r) => r, '   '), / - lockbox-gateway /, 'an empty host is the nil value')
})
