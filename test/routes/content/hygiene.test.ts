// Header, method and body hygiene on the content routes (API.md §5), and the answer to requests that
// arrive while the gateway shuts down. Sent over raw sockets: header names and bodies exactly as a
// hostile client writes them, to a real recording upstream that shows what got through.
import t, { type Test } from 'tap'
import type { IncomingMessage } from 'node:http'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { tempDir } from '../../helpers/config.js'
import { contentRecords, eventually, granted, listen } from '../../helpers/content.js'
import { rawConnection, rawExchange, rawRequest } from '../../helpers/raw-http.js'
import { startRecordingUpstream, type RecordingUpstream } from '../../helpers/recording-upstream.js'

const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

async function setup (t: Test, dataDir?: string): Promise<{ h: TestApp, upstream: RecordingUpstream }> {
  const upstream = await startRecordingUpstream()
  const h = await startTestApp({ dataDir, config: { upstreams: { exchange: upstream.url, sharepoint: upstream.url, onedrive: upstream.url } } })
  t.teardown(async () => {
    await h.close().catch(() => {})
    await upstream.close()
  })
  return { h, upstream }
}

t.test('sends no method override and no header name with `_` upstream', async (t) => {
  const { h, upstream } = await setup(t)
  const { request, authorization } = await granted(h)
  const port = await listen(h)
  const res = await rawRequest(port, MESSAGES, {
    headers: {
      authorization,
      'X-HTTP-Method-Override': 'DELETE',
      'X-HTTP-Method': 'DELETE',
      'X-Method-Override': 'DELETE',
      // What CGI and WSGI servers read as X-Lockbox-Actor and X-Forwarded-For.
      X_Lockbox_Actor: 'forged-actor',
      X_Forwarded_For: '203.0.113.7',
      'x-custom_header': '1',
      'x-custom-header': 'kept',
      accept: 'application/json'
    }
  })
  t.equal(res.status, 200)
  const seen = upstream.requests[0]
  if (seen === undefined) throw new Error('nothing reached the upstream')
  t.equal(seen.method, 'GET')
  for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) t.equal(seen.headers[name], undefined, `no ${name}`)
  t.same(Object.keys(seen.headers).filter((name) => name.includes('_')), [], 'no name with an underscore')
  t.equal(seen.headers['x-lockbox-actor'], 'eng-ada')
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen.headers['x-custom-header'], 'kept', 'ordinary headers pass')
  t.equal(seen.headers.accept, 'application/json')
  const [accessed] = await contentRecords(h, request.id, 'ContentAccessed')
  t.match(accessed, { details: { method: 'GET' } }, 'the method recorded is the method forwarded')
})

t.test('refuses GET and HEAD with a body, forwards nothing and records the refusal', async (t) => {
  const { h, upstream } = await setup(t)
  const { request, authorization } = await granted(h)
  const port = await listen(h)
  const head = (method: string, extra: string): string =>
    `${method} ${MESSAGES} HTTP/1.1\r\nhost: x\r\nauthorization: ${authorization}\r\nconnection: close\r\n${extra}\r\n`
  const sent: Array<[string, string]> = [
    ['GET', head('GET', 'content-length: 5\r\n') + 'x=DEL'],
    ['GET', head('GET', 'transfer-encoding: chunked\r\n') + '3\r\nabc\r\n0\r\n\r\n'],
    ['HEAD', head('HEAD', 'content-length: 2\r\n') + 'hi']
  ]
  for (const [method, bytes] of sent) {
    const res = await rawExchange(port, Buffer.from(bytes, 'latin1'), { head: method === 'HEAD' })
    t.equal(res.status, 400, bytes.split('\r\n')[4] as string)
    t.match(res.headers['x-lockbox-access-id'], /^[0-9a-f-]{36}$/)
    if (method === 'GET') {
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.match(res.json(), { status: 400, code: 'BODY_NOT_ALLOWED' })
    }
  }
  t.equal(upstream.requests.length, 0, 'nothing reaches the upstream')
  const denied = await contentRecords(h, request.id, 'ContentAccessDenied')
  t.same(denied.map((r) => [r.details.method, r.details.reason, r.details.status]), [
    ['GET', 'body on GET refused', 400], ['GET', 'body on GET refused', 400], ['HEAD', 'body on HEAD refused', 400]
  ])
  // An empty body is no body.
  const empty = await rawExchange(port, Buffer.from(head('GET', 'content-length: 0\r\n'), 'latin1'))
  t.equal(empty.status, 200)
  t.equal(upstream.requests.length, 1)
})

t.test('answers requests that arrive while shutting down as problem+json, with an access id and a record', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const { h, upstream } = await setup(t, dir.path)
  upstream.mode = 'hang'
  const { authorization } = await granted(h)
  const port = await listen(h)
  const arrived: string[] = []
  h.app.server.on('request', (req: IncomingMessage) => { arrived.push(req.url as string) })
  const get = (url: string, headers = ''): string => `GET ${url} HTTP/1.1\r\nhost: x\r\nauthorization: ${authorization}\r\n${headers}\r\n`

  // Two busy kept-alive connections, each waiting on the upstream, so closing must wait for them.
  const content = await rawConnection(port)
  const api = await rawConnection(port)
  content.write(get(MESSAGES))
  api.write(get(MESSAGES))
  await eventually('both waiting upstream', async () => upstream.requests.length, (n) => n === 2)
  // An idle kept-alive connection: the server closes it as soon as it starts closing (our sentinel).
  const idle = await rawConnection(port)
  idle.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n')
  t.equal((await idle.responses(1))[0]?.status, 200)

  const closing = h.app.close()
  await idle.closed
  // Pipelined behind the waiting exchanges: parsed and answered while the server drains.
  content.write(get(MESSAGES))
  api.write(get('/v1/requests'))
  const [refused] = await eventually('the refusal recorded', async () => (await h.app.stores.audit.query({ tenantId: 'contoso', operations: ['ContentAccessDenied'], limit: 10 })).items, (r) => r.length === 1)
  await eventually('the API request arrived', async () => arrived.filter((url) => url === '/v1/requests').length, (n) => n === 1)
  await upstream.close()

  const [first, during] = await content.responses(2)
  t.equal(first?.status, 502, 'the exchange under way ends as it would have')
  t.equal(during?.status, 503)
  t.equal(during?.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(during?.json(), { status: 503, code: 'UNAVAILABLE', detail: /shutting down/ })
  const accessId = during?.headers['x-lockbox-access-id']
  t.match(accessId, /^[0-9a-f-]{36}$/)
  t.equal(during?.headers.connection, 'close')
  t.match(refused, { tenantId: 'contoso', requestId: null, details: { accessId, reason: 'gateway shutting down', status: 503, path: '/contoso/mailboxes/alice@contoso.com/messages' } })

  const [, apiDuring] = await api.responses(2)
  t.equal(apiDuring?.status, 503)
  t.equal(apiDuring?.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(apiDuring?.json(), { status: 503, code: 'UNAVAILABLE' })
  await closing

  // The record outlives the shutdown.
  const reopened = await startTestApp({ dataDir: dir.path })
  t.teardown(reopened.close)
  const denied = await contentRecords(reopened, null, 'ContentAccessDenied')
  t.same(denied.map((r) => r.details.accessId), [accessId])
  t.equal(upstream.requests.length, 2, 'nothing was forwarded after the close began')
})
