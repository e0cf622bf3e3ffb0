// What the gateway makes of an upstream that is down, slow or breaks off, and of a client that
// asks for a protocol upgrade: stable problems, never the HTTP client's own error text.
import t from 'tap'
import { request } from 'node:http'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { contentRecords, eventually, granted, listen } from '../../helpers/content.js'
import { closedPort, rawRequest } from '../../helpers/raw-http.js'
import { startAppBehindUpstream } from '../../helpers/recording-upstream.js'
import { download } from '../../helpers/transfer.js'

const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

/** The access's ContentAccessCompleted record, once written. */
async function completedRecord (h: TestApp, requestId: string): Promise<Record<string, any> | undefined> {
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, requestId, 'ContentAccessCompleted'), (r) => r.length > 0)
  return completed
}

t.test('answers 502 without error text when the upstream is down', async (t) => {
  const down = `http://127.0.0.1:${await closedPort()}`
  const h = await startTestApp({ config: { upstreams: { exchange: down, sharepoint: down, onedrive: down } } })
  t.teardown(h.close)
  const { request: req, authorization } = await granted(h)
  const res = await h.app.inject({ url: MESSAGES, headers: { authorization } })
  t.equal(res.statusCode, 502)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(res.json(), {
    type: 'urn:lockbox-gateway:problem:upstream-unavailable',
    title: 'Bad Gateway',
    status: 502,
    detail: 'the content service could not be reached',
    code: 'UPSTREAM_UNAVAILABLE'
  })
  t.notMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|undici|connect/i)
  const [accessed] = await contentRecords(h, req.id, 'ContentAccessed')
  t.ok(accessed, 'the access was recorded before the attempt')
  const completed = await completedRecord(h, req.id)
  t.match(completed, { result: 'Failure', details: { status: 502, accessId: accessed?.details.accessId } })
})

t.test('answers 504 when the upstream does not answer in time', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t, { upstreamTimeoutMs: 300 })
  upstream.mode = 'hang'
  const { request: req, authorization } = await granted(h)
  const res = await h.app.inject({ url: MESSAGES, headers: { authorization } })
  t.equal(res.statusCode, 504)
  t.same(res.json(), {
    type: 'urn:lockbox-gateway:problem:upstream-timeout',
    title: 'Gateway Timeout',
    status: 504,
    detail: 'the content service did not answer in time',
    code: 'UPSTREAM_TIMEOUT'
  })
  t.equal(upstream.requests.length, 1)
  const completed = await completedRecord(h, req.id)
  t.match(completed, { result: 'Failure', details: { status: 504 } })
})

t.test('ends the response when the upstream breaks off mid-body', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  upstream.mode = 'break'
  const { request: req, authorization } = await granted(h)
  const res = await download(await listen(h), MESSAGES, { authorization })
  t.equal(res.status, 200)
  const { bytes, complete } = await res.ended
  t.notOk(complete)
  t.ok(bytes < upstream.streamBytes)
  const completed = await completedRecord(h, req.id)
  t.match(completed, { result: 'Failure', details: { completed: false, cutBy: null } })
})

t.test('says so when the body timeout cuts a stalled body', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t, { upstreamTimeoutMs: 300 })
  upstream.mode = 'stall'
  const { request: req, authorization } = await granted(h)
  const res = await download(await listen(h), MESSAGES, { authorization })
  t.equal(res.status, 200)
  const { bytes, complete } = await res.ended
  t.notOk(complete, 'the client sees a cut body, never a whole one')
  t.ok(bytes < upstream.streamBytes)
  const completed = await completedRecord(h, req.id)
  t.match(completed, { result: 'Failure', details: { status: 200, completed: false, cutBy: 'UpstreamTimeout' } })
})

t.test('records an upload the client abandons', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request: req, authorization } = await granted(h, { accessLevel: 'readwrite' })
  const port = await listen(h)
  const size = 10 * 1024 * 1024
  const client = request({ host: '127.0.0.1', port, path: `${MESSAGES}/draft`, method: 'PUT', headers: { authorization, 'content-length': String(size) }, agent: false })
  client.on('error', () => {})
  client.write(Buffer.alloc(256 * 1024))
  await eventually('upload under way', async () => upstream.requests[0]?.bytes ?? 0, (n) => n > 0)
  client.destroy()
  const completed = await completedRecord(h, req.id)
  t.match(completed, { result: 'Failure', details: { method: 'PUT', completed: false, status: null } }, 'no status: nothing answered before it ended')
  t.ok(completed?.details.bytesIn < size)
})

t.test('refuses a WebSocket upgrade and opens no upstream socket for it', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request: req, authorization } = await granted(h)
  const port = await listen(h)
  const upgrade = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }
  const res = await rawRequest(port, MESSAGES, { headers: { authorization, ...upgrade } })
  t.equal(res.status, 400)
  t.match(res.json(), { status: 400, code: 'UPGRADE_REFUSED' })
  const h2c = await rawRequest(port, MESSAGES, { headers: { authorization, upgrade: 'h2c', connection: 'Upgrade, HTTP2-Settings', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } })
  t.equal(h2c.status, 400)
  const anonymous = await rawRequest(port, MESSAGES, { headers: upgrade })
  t.equal(anonymous.status, 401, 'the token is checked first, as always')
  t.equal(upstream.connections, 0, 'no upstream socket was opened')
  t.equal(upstream.upgrades, 0)
  t.equal(upstream.requests.length, 0)
  const denied = await contentRecords(h, req.id, 'ContentAccessDenied')
  t.same(denied.map((r) => r.details.reason), ['protocol upgrade refused', 'protocol upgrade refused'])
})
