// Audit reads never fail on a stored record: whatever hostile traffic wrote (clients that reset their
// connection, odd methods, paths, headers, forwarded addresses) and whatever a store can hold (records
// of an earlier version without `clientIp`), search, export, the o365 format and the live stream
// answer without a 5xx. Property-based: fast-check drives requests through the real routes.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { connect } from 'node:net'
import type { AuditDraft } from '../../../src/domain/audit.js'
import type { TestApp } from '../../helpers/app.js'
import { contentRecords, eventually, granted, listen } from '../../helpers/content.js'
import { startAppBehindUpstream } from '../../helpers/recording-upstream.js'
import { openSse, type SseClient } from '../../helpers/sse.js'
import { approvedRequest, auditOf } from '../../helpers/workflow.js'

const ALICE = '/exchange/contoso/mailboxes/alice@contoso.com'

async function setup (t: Test, config: Record<string, unknown> = {}): Promise<{ h: TestApp, port: number }> {
  const { h } = await startAppBehindUpstream(t, config)
  return { h, port: await listen(h) }
}

/**
 * Reads every record of every tenant the way each audit read does, and fails on any answer that is
 * not a 200 or on a line that does not parse. Returns how many records there are.
 */
async function readEverything (h: TestApp): Promise<number> {
  let count = 0
  for (const format of ['native', 'o365']) {
    let cursor: string | null = null
    let seen = 0
    do {
      const res = await h.as('sec-erin', { url: `/v1/audit?format=${format}&limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}` })
      if (res.statusCode !== 200) throw new Error(`search (${format}) answered ${res.statusCode}: ${res.body.slice(0, 300)}`)
      const page = res.json() as { items: unknown[], nextCursor: string | null }
      seen += page.items.length
      cursor = page.nextCursor
    } while (cursor !== null)
    const exported = await h.as('sec-erin', { url: `/v1/audit/export?format=${format}` })
    if (exported.statusCode !== 200) throw new Error(`export (${format}) answered ${exported.statusCode}: ${exported.body.slice(0, 300)}`)
    const lines = exported.body.split('\n').filter((line) => line !== '')
    for (const line of lines) JSON.parse(line)
    // Outcomes recorded after a close may land between the two reads: the export never has fewer.
    if (lines.length < seen) throw new Error(`export (${format}) has ${lines.length} records, search ${seen}`)
    count = seen
  }
  for (const tenantId of ['contoso', 'fabrikam']) {
    const res = await h.as('sec-erin', { url: `/v1/audit/verify?tenantId=${tenantId}` })
    if (res.statusCode !== 200 || res.json().valid !== true) throw new Error(`verify ${tenantId}: ${res.statusCode} ${res.body}`)
  }
  return count
}

/** The stream delivered `count` records, each one a record that parses. */
async function streamed (stream: SseClient, count: number): Promise<void> {
  const events = await stream.waitFor(count)
  for (const event of events) {
    const record = JSON.parse(event.data) as { hash?: unknown }
    if (typeof record.hash !== 'string') throw new Error(`a streamed record without a hash: ${event.data.slice(0, 200)}`)
  }
}

/** Blocks this process (gateway included) so that the bytes and the reset both wait in the kernel. */
function busy (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* the gateway runs in this process: it must not read in between */ }
}

t.test('a client that resets its connection leaves records every audit read renders', async (t) => {
  const { h, port } = await setup(t)
  const { request, authorization } = await granted(h, { accessLevel: 'readwrite' })
  const before = await readEverything(h)
  const stream = await openSse(`http://127.0.0.1:${port}/v1/audit/stream`, await h.token('sec-erin'))
  t.teardown(stream.close)

  // No token, reset before the gateway reads the request: its peer address is gone by then.
  const anonymous = connect(port, '127.0.0.1')
  anonymous.on('error', () => {})
  await new Promise((resolve) => anonymous.once('connect', resolve))
  anonymous.write(`GET ${ALICE}/messages HTTP/1.1\r\nhost: x\r\n\r\n`)
  anonymous.resetAndDestroy()
  busy(50)
  const [denied] = await eventually('the refusal recorded', async () => await contentRecords(h, null, 'ContentAccessDenied'), (r) => r.length === 1)
  t.match(denied, { clientIp: null, details: { reason: 'missing access token' } }, 'the address is unknown once the client is gone: null')

  // An upload reset before any answer.
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`PUT ${ALICE}/messages/draft HTTP/1.1\r\nhost: x\r\nauthorization: ${authorization}\r\ncontent-length: 1000000\r\n\r\n${'x'.repeat(1000)}`)
  await eventually('the access recorded', async () => await contentRecords(h, request.id, 'ContentAccessed'), (r) => r.length === 1)
  socket.resetAndDestroy()
  const [completed] = await eventually('its outcome recorded', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length === 1)
  t.match(completed, { result: 'Failure', details: { completed: false, status: null } })

  t.equal(await readEverything(h), before + 3, 'search, export, o365 and verify render them')
  await streamed(stream, 3)
})

t.test('an API call whose client reset its connection is recorded with clientIp null', async (t) => {
  const { h, port } = await setup(t)
  const req = await approvedRequest(h)
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`POST /v1/requests/${req.id}/token HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${await h.token('eng-ada')}\r\n\r\n`)
  socket.resetAndDestroy()
  busy(50)
  const [issued] = await eventually('the token issue recorded', async () => await auditOf(h, `tenantId=contoso&requestId=${req.id}&operation=LockboxAccessTokenIssued`), (r) => r.length === 1)
  t.match(issued, { clientIp: null, actor: { id: 'eng-ada' } })
  await readEverything(h)
})

t.test('a stored record without clientIp (an earlier version wrote none) is rendered as stored', async (t) => {
  const { h, port } = await setup(t)
  const stream = await openSse(`http://127.0.0.1:${port}/v1/audit/stream`, await h.token('sec-erin'))
  t.teardown(stream.close)
  const draft = { tenantId: 'contoso', operation: 'ContentAccessCompleted', result: 'Failure', actor: { id: 'eng-ada', type: 'SupportEngineer' }, requestId: null, workload: 'exchange', object: '/contoso/x', details: { status: 200 } }
  await h.app.stores.lockbox.commit({ tenantId: 'contoso', audit: [draft as unknown as AuditDraft] })
  const search = await h.as('sec-erin', { url: '/v1/audit?tenantId=contoso' })
  t.equal(search.statusCode, 200)
  const [record] = search.json().items as Array<Record<string, unknown>>
  t.notOk('clientIp' in (record as object), 'not filled in: the hash covers the record as stored')
  const o365 = await h.as('sec-erin', { url: '/v1/audit?tenantId=contoso&format=o365' })
  t.equal(o365.statusCode, 200)
  t.equal(o365.json().items[0].ClientIP, '')
  t.equal(await readEverything(h), 1)
  await streamed(stream, 1)
})

// Strings as hostile as a store can hold: any UTF-16, lone surrogates included.
const anyText = fc.string({ unit: 'binary', maxLength: 40 })
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> => fc.oneof(arb, fc.constant(null), fc.constant(undefined))

t.test('every record a store can hold is rendered by every audit read (property)', async (t) => {
  const { h, port } = await setup(t)
  const stream = await openSse(`http://127.0.0.1:${port}/v1/audit/stream`, await h.token('sec-erin'))
  t.teardown(stream.close)
  let written = 0
  const draft = fc.record({
    tenantId: fc.constantFrom('contoso', 'fabrikam'),
    operation: fc.constantFrom('ContentAccessed', 'ContentAccessCompleted', 'ContentAccessDenied', 'LockboxRequestApproved'),
    result: fc.constantFrom('Success', 'Failure', 'Denied'),
    actor: fc.record({ id: anyText, type: fc.constantFrom('SupportEngineer', 'CustomerApprover', 'System', 'SupportManager', 'CustomerUser') }),
    clientIp: maybe(anyText),
    requestId: maybe(anyText),
    workload: maybe(fc.oneof(fc.constantFrom('exchange', 'sharepoint', 'onedrive'), anyText)),
    object: maybe(anyText),
    details: fc.dictionary(anyText, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  }, { requiredKeys: ['tenantId', 'operation', 'result', 'actor', 'details'] })
  await fc.assert(fc.asyncProperty(draft, async (d) => {
    const clean = Object.fromEntries(Object.entries(d).filter(([, value]) => value !== undefined))
    await h.app.stores.lockbox.commit({ tenantId: d.tenantId, audit: [clean as unknown as AuditDraft] })
    written++
    await readEverything(h)
  }), { numRuns: 60 })
  await streamed(stream, written)
  t.pass(`${written} records rendered by search, export, o365, verify and the stream`)
})

// Pieces of hostile paths: traversal and its encodings, NFKC look-alikes, bad escapes, separators.
const SEGMENTS = ['mailboxes', 'alice@contoso.com', 'messages', '..', '.', '%2e%2e', '%252e%252e', '%EF%BC%8E%EF%BC%8E', '%E2%80%A5',
  '%C0%AF', '%ZZ', '%', 'a;b', '\\', '%5c', '%2f', '%00', '%0d%0a', '', 'caf%C3%A9', 'e%CC%81', '%65', 'x'.repeat(3000), '\xe9', '*', '?a=1', '#f']
const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.stringMatching(/^[A-Za-z0-9._~%@!$&'()*+,=:-]{1,12}$/))
const headerValue = fc.oneof(
  fc.constantFrom('DELETE', 'not-an-ip', '::1', '203.0.113.7, 10.0.0.1', '"<script>"', '', 'for=1.2.3.4', 'websocket', 'close, x-lockbox-actor', '100-continue'),
  fc.string({ unit: fc.constantFrom(...'abc<>"\\ ;,=_-.:/é'.split('')), maxLength: 30 }))
const HEADER_NAMES = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X_Lockbox_Actor', 'x-lockbox-request-id', 'X-Forwarded-For',
  'Forwarded', 'Upgrade', 'Connection', 'Expect', 'Cookie', 'x-custom_x', 'Content-Type', 'Transfer-Encoding', 'Content-Length']

interface Hostile {
  method: string
  workload: string
  tenant: string
  segments: string[]
  auth: 'none' | 'valid' | 'garbage' | 'tampered'
  headers: Array<[string, string]>
  body: 'none' | 'length' | 'chunked'
  ending: 'answer' | 'reset-at-once' | 'reset-mid-body'
}

const hostile: fc.Arbitrary<Hostile> = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'get'),
  workload: fc.constantFrom('/exchange', '/sharepoint', '/onedrive', '/%65xchange'),
  tenant: fc.constantFrom('contoso', 'fabrikam', '%63ontoso', 'nobody', ''),
  segments: fc.array(segment, { maxLength: 5 }),
  auth: fc.constantFrom('none', 'valid', 'valid', 'garbage', 'tampered'),
  headers: fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), headerValue), { maxLength: 4 }),
  body: fc.constantFrom('none', 'length', 'chunked'),
  ending: fc.constantFrom('answer', 'answer', 'reset-at-once', 'reset-mid-body')
})

/** Writes the request over a raw socket and ends it as the case says; settles once the socket is closed. */
async function send (port: number, authorization: string, r: Hostile): Promise<void> {
  const auth = r.auth === 'none' ? '' : r.auth === 'valid' ? authorization : r.auth === 'garbage' ? 'Bearer e30.e30.' : authorization.slice(0, -2) + 'AA'
  const lines = [`${r.method} ${r.workload}/${r.tenant}/${r.segments.join('/')} HTTP/1.1`, 'host: x', 'connection: close']
  if (auth !== '') lines.push(`authorization: ${auth}`)
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`)
  let body = ''
  if (r.body === 'length') {
    lines.push(`content-length: ${r.ending === 'reset-mid-body' ? 100_000 : 5}`)
    body = 'hello'
  } else if (r.body === 'chunked') {
    lines.push('transfer-encoding: chunked')
    body = r.ending === 'reset-mid-body' ? '5\r\nhello\r\n' : '5\r\nhello\r\n0\r\n\r\n'
  }
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.setTimeout(3000, () => { socket.destroy() })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(lines.join('\r\n') + '\r\n\r\n' + body)
  if (r.ending === 'reset-at-once') {
    socket.resetAndDestroy()
    busy(20)
  } else if (r.ending === 'reset-mid-body') {
    // At the first byte of an answer, or once the gateway has had a moment with the partial body.
    socket.once('data', () => socket.resetAndDestroy()).setTimeout(200, () => socket.resetAndDestroy())
  } else {
    socket.resume()
  }
  await new Promise((resolve) => socket.once('close', resolve))
}

t.test('no audit read answers 5xx after hostile requests through the real routes (property)', async (t) => {
  // Behind a trusted proxy: X-Forwarded-For then chooses the recorded address, as hostile as it likes.
  const { h, port } = await setup(t, { trustProxy: ['127.0.0.1'] })
  const { authorization } = await granted(h, { accessLevel: 'readwrite' })
  const before = await readEverything(h)
  const stream = await openSse(`http://127.0.0.1:${port}/v1/audit/stream`, await h.token('sec-erin'))
  t.teardown(stream.close)
  await fc.assert(fc.asyncProperty(hostile, async (r) => {
    await send(port, authorization, r)
    await readEverything(h)
  }), { numRuns: 80 })
  // Outcomes of cut exchanges are recorded after their close: once none is in flight, all are written.
  await eventually('no transfer in flight', async () => h.app.gateway.inFlight.size, (n) => n === 0)
  const after = await eventually('the last outcomes recorded', async () => await readEverything(h), (n) => {
    const written = n - before
    return stream.events.length === written
  })
  await streamed(stream, after - before)
  const nulls = (await contentRecords(h, null, 'ContentAccessCompleted')).filter((r) => r.clientIp === null)
  t.comment(`${after - before} records from 80 hostile requests; ${nulls.length} outcomes without a client address`)
  t.ok(after > before, 'the hostile requests were recorded')
})
