// What a content request becomes upstream: the path built from the checked parts, the query as
// sent, the client's credentials and forwarding claims gone, the gateway's own headers added; and
// the two records that frame every forwarded call.
import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { startTestApp } from '../../helpers/app.js'
import { contentRecords, eventually, granted, listen } from '../../helpers/content.js'
import { rawRequest } from '../../helpers/raw-http.js'
import { startAppBehindUpstream } from '../../helpers/recording-upstream.js'

const MAILBOX = '/exchange/contoso/mailboxes/alice@contoso.com'

t.test('forwards to /tenants/{tenant}/{path} with the query byte for byte', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { authorization } = await granted(h)
  const port = await listen(h)
  const query = '?b=2&a=1&a=%20x&flag&q=a+b%2Bc&e=&%7E=~&x=%2F..%2F'
  const res = await rawRequest(port, `${MAILBOX}/messages${query}`, { headers: { authorization } })
  t.equal(res.status, 200)
  t.equal(res.json().ok, true)
  t.same(upstream.requests.map((r) => [r.method, r.url]), [['GET', `/tenants/contoso/mailboxes/alice@contoso.com/messages${query}`]])

  const bare = await rawRequest(port, MAILBOX, { headers: { authorization } })
  t.equal(bare.status, 200)
  const slash = await rawRequest(port, `${MAILBOX}/`, { headers: { authorization } })
  t.equal(slash.status, 200)
  const emptyQuery = await rawRequest(port, `${MAILBOX}/messages?`, { headers: { authorization } })
  t.equal(emptyQuery.status, 200)
  t.same(upstream.requests.slice(1).map((r) => r.url), [
    '/tenants/contoso/mailboxes/alice@contoso.com',
    '/tenants/contoso/mailboxes/alice@contoso.com/',
    '/tenants/contoso/mailboxes/alice@contoso.com/messages'
  ], 'a trailing slash is kept, an empty query dropped')
})

t.test('forwards the path in its canonical spelling, authorised on its decoded value, and records exactly that', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h, { scope: '/mailboxes/alice@contoso.com' })
  const port = await listen(h)
  // Escapes of unreserved characters decoded (even in the workload), others kept in upper case.
  const res = await rawRequest(port, '/%65xchange/%63ontoso/mailboxes/alice%40contoso.com/messages/Q3%20report%c3%a9', { headers: { authorization } })
  t.equal(res.status, 200)
  t.equal(upstream.requests[0]?.url, '/tenants/contoso/mailboxes/alice%40contoso.com/messages/Q3%20report%C3%A9')
  const [accessed] = await contentRecords(h, request.id, 'ContentAccessed')
  t.match(accessed, { object: '/contoso/mailboxes/alice%40contoso.com/messages/Q3%20report%C3%A9', details: { path: '/contoso/mailboxes/alice%40contoso.com/messages/Q3%20report%C3%A9' } })
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length > 0)
  t.equal(completed?.object, accessed?.object)
})

t.test('sends the upstream none of the client\'s credentials, cookies or forwarding claims', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, token, authorization } = await granted(h)
  const port = await listen(h)
  const res = await rawRequest(port, `${MAILBOX}/messages`, {
    headers: {
      authorization,
      'proxy-authorization': 'Basic c2VjcmV0',
      cookie: 'session=abc',
      'x-lockbox-request-id': 'forged-request',
      'x-lockbox-actor': 'forged-actor',
      'x-lockbox-assertion': 'forged.assertion.value',
      'x-lockbox-tenant': 'fabrikam',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'for=203.0.113.7;host=evil.example',
      'x-real-ip': '203.0.113.7',
      'x-request-id': 'client-chosen-id',
      accept: 'application/json'
    }
  })
  t.equal(res.status, 200)
  const seen = upstream.requests[0]
  if (seen === undefined) throw new Error('nothing reached the upstream')
  const headers = seen.headers
  t.notOk(JSON.stringify(headers).includes(token), 'the engineer\'s token is nowhere upstream')
  t.notOk(JSON.stringify(headers).includes(token.split('.')[2] as string), 'not even its signature')
  for (const name of ['authorization', 'proxy-authorization', 'cookie', 'forwarded', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'x-lockbox-tenant']) {
    t.equal(headers[name], undefined, `no ${name}`)
  }
  t.same(Object.keys(headers).filter((name) => name.startsWith('x-lockbox-')).sort(), ['x-lockbox-actor', 'x-lockbox-assertion', 'x-lockbox-request-id'])
  t.equal(headers['x-lockbox-request-id'], request.id)
  t.equal(headers['x-lockbox-actor'], 'eng-ada')
  t.equal(headers['x-forwarded-for'], '127.0.0.1', 'the peer address, not the client\'s claim')
  t.match(headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.not(headers['x-request-id'], 'client-chosen-id')
  t.equal(headers.accept, 'application/json', 'ordinary headers pass')

  const jwks = (await h.app.inject({ url: '/.well-known/jwks.json' })).json()
  const assertion = headers['x-lockbox-assertion'] as string
  const { payload, protectedHeader } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
    issuer: 'urn:lockbox-gateway',
    audience: 'exchange',
    typ: 'lockbox-assertion+jwt',
    algorithms: ['EdDSA']
  })
  t.equal(protectedHeader.kid, jwks.keys[0].kid)
  t.match(payload, { requestId: request.id, actor: 'eng-ada', tenantId: 'contoso', scope: '/mailboxes/alice@contoso.com', accessLevel: 'read', sub: 'eng-ada' })
  t.ok((payload.exp as number) - (payload.iat as number) <= 300, 'lives at most 5 minutes')
})

t.test('keeps its own headers when a Connection header names them', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  const port = await listen(h)
  const res = await rawRequest(port, `${MAILBOX}/messages`, {
    headers: {
      authorization,
      connection: 'close, x-lockbox-request-id, x-lockbox-assertion, x-lockbox-actor, x-request-id, x-forwarded-for',
      'x-lockbox-request-id': 'forged-request'
    }
  })
  t.equal(res.status, 200)
  const headers = upstream.requests[0]?.headers ?? {}
  t.equal(headers['x-lockbox-request-id'], request.id)
  t.equal(headers['x-lockbox-actor'], 'eng-ada')
  t.ok(headers['x-lockbox-assertion'])
  t.ok(headers['x-request-id'])
  t.equal(headers['x-forwarded-for'], '127.0.0.1')
})

t.test('answers with the upstream\'s status and headers, without its hop-by-hop headers', async (t) => {
  const { h } = await startAppBehindUpstream(t)
  const { authorization } = await granted(h)
  const port = await listen(h)
  // The recording upstream answers on a keep-alive connection; the client asked for close.
  const res = await rawRequest(port, `${MAILBOX}/messages`, { headers: { authorization, connection: 'close' } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-upstream'], 'recording')
  t.equal(res.headers['content-type'], 'application/json')
  t.equal(res.headers.connection, 'close')
  t.equal(res.headers['keep-alive'], undefined)
})

t.test('drops the hop-by-hop headers an upstream names, and copes without any', async (t) => {
  // An upstream written byte by byte: node:http would always add a Connection header of its own.
  const answers = [
    'HTTP/1.1 200 OK\r\nconnection: x-hop-secret, keep-alive\r\nx-hop-secret: 1\r\nkeep-alive: timeout=5\r\nx-end-to-end: 1\r\ncontent-length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nx-end-to-end: 2\r\ncontent-length: 2\r\n\r\nok'
  ]
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('data', () => { socket.end(answers.shift() as string) })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const h = await startTestApp({ config: { upstreams: { exchange: url, sharepoint: url, onedrive: url } } })
  t.teardown(async () => {
    await h.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => { server.close(resolve) })
  })
  const { authorization } = await granted(h)
  const named = await h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization } })
  t.equal(named.statusCode, 200)
  t.equal(named.headers['x-end-to-end'], '1')
  t.equal(named.headers['x-hop-secret'], undefined)
  t.equal(named.headers['keep-alive'], undefined)
  const bare = await h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization } })
  t.equal(bare.statusCode, 200)
  t.equal(bare.headers['x-end-to-end'], '2')
  t.equal(bare.body, 'ok')
})

t.test('records the access before the response and its outcome after it', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  const res = await h.app.inject({ url: `${MAILBOX}/messages?top=5`, headers: { authorization } })
  t.equal(res.statusCode, 200)
  const [accessed, ...others] = await contentRecords(h, request.id, 'ContentAccessed')
  t.equal(others.length, 0)
  t.match(accessed, {
    tenantId: 'contoso',
    operation: 'ContentAccessed',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    clientIp: '127.0.0.1',
    requestId: request.id,
    workload: 'exchange',
    object: '/contoso/mailboxes/alice@contoso.com/messages',
    details: { method: 'GET', path: '/contoso/mailboxes/alice@contoso.com/messages', query: 'top=5' }
  })
  const accessId = accessed?.details.accessId as string
  t.match(accessId, /^[0-9a-f-]{36}$/)
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length > 0)
  t.match(completed, {
    operation: 'ContentAccessCompleted',
    result: 'Success',
    requestId: request.id,
    actor: { id: 'eng-ada' },
    details: { accessId, method: 'GET', status: 200, bytes: res.rawPayload.length, bytesIn: 0, completed: true, cutBy: null }
  })
  t.type(completed?.details.durationMs, 'number')
  t.ok((completed?.seq as number) > (accessed?.seq as number))
  t.equal(upstream.requests.length, 1)
})

t.test('records every forwarded call before its response arrives', async (t) => {
  const { h } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  for (let i = 1; i <= 5; i++) {
    const res = await h.app.inject({ url: `${MAILBOX}/messages/m${i}`, headers: { authorization } })
    t.equal(res.statusCode, 200)
    const accessed = await contentRecords(h, request.id, 'ContentAccessed')
    t.equal(accessed.length, i, `call ${i} is searchable once answered`)
    t.equal(accessed[i - 1]?.details.path, `/contoso/mailboxes/alice@contoso.com/messages/m${i}`)
  }
  const accessIds = (await contentRecords(h, request.id, 'ContentAccessed')).map((r) => r.details.accessId).sort()
  const completed = await eventually('five outcomes', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length >= 5)
  // Recorded more than once would show here: every later call commits after the earlier ones' outcomes.
  await h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization } })
  t.same(completed.map((r) => r.details.accessId).sort(), accessIds, 'one outcome per access, with its accessId')
  t.equal((await contentRecords(h, request.id, 'ContentAccessCompleted')).filter((r) => accessIds.includes(r.details.accessId)).length, 5)
})

t.test('streams a request body upstream and counts it', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h, { accessLevel: 'readwrite' })
  const body = JSON.stringify({ isRead: true, note: 'x'.repeat(10_000) })
  const res = await h.app.inject({ method: 'PATCH', url: `${MAILBOX}/messages/AAMk-alice-0001`, headers: { authorization, 'content-type': 'application/json' }, payload: body })
  t.equal(res.statusCode, 200)
  t.equal(upstream.requests[0]?.method, 'PATCH')
  t.equal(upstream.requests[0]?.bytes, Buffer.byteLength(body))
  t.equal(upstream.requests[0]?.headers['content-type'], 'application/json')
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length > 0)
  t.equal(completed?.details.bytesIn, Buffer.byteLength(body))
  t.equal(completed?.details.method, 'PATCH')
})

t.test('records a failed outcome for an upstream error status', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const { request, authorization } = await granted(h)
  // The built-in mock answers 404 for a message that does not exist.
  const res = await h.app.inject({ url: `${MAILBOX}/messages/no-such-message`, headers: { authorization } })
  t.equal(res.statusCode, 404)
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length > 0)
  t.match(completed, { result: 'Failure', details: { status: 404, completed: true, cutBy: null } })
})

t.test('reaches the built-in mocks, which accept the gateway\'s assertion', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const mail = await granted(h)
  const messages = await h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization: mail.authorization } })
  t.equal(messages.statusCode, 200)
  t.ok((messages.json() as Array<{ id: string }>).some((m) => m.id === 'AAMk-alice-0001'))
  const files = await granted(h, { workload: 'sharepoint', scope: '/sites/finance' })
  const list = await h.app.inject({ url: '/sharepoint/contoso/sites/finance/files', headers: { authorization: files.authorization } })
  t.equal(list.statusCode, 200)
  t.ok((list.json() as Array<{ path: string }>).some((f) => f.path === 'Shared Documents/README.txt'))
  const readme = await h.app.inject({ url: '/sharepoint/contoso/sites/finance/files/Shared%20Documents/README.txt', headers: { authorization: files.authorization } })
  t.equal(readme.statusCode, 200)
  t.match(readme.body, /Finance team site/)
  t.equal(decodeProtectedHeader(files.token).typ, 'lockbox-access+jwt')
})

t.test('takes the client address from the socket unless the peer is a trusted proxy', async (t) => {
  const untrusted = await startAppBehindUpstream(t)
  const a = await granted(untrusted.h)
  await untrusted.h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization: a.authorization, 'x-forwarded-for': '203.0.113.7' } })
  const [ignored] = await contentRecords(untrusted.h, a.request.id, 'ContentAccessed')
  t.equal(ignored?.clientIp, '127.0.0.1')

  const trusted = await startAppBehindUpstream(t, { trustProxy: ['127.0.0.1'] })
  const b = await granted(trusted.h)
  await trusted.h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization: b.authorization, 'x-forwarded-for': '203.0.113.7' } })
  const [believed] = await contentRecords(trusted.h, b.request.id, 'ContentAccessed')
  t.equal(believed?.clientIp, '203.0.113.7')
  t.equal(trusted.upstream.requests[0]?.headers['x-forwarded-for'], '203.0.113.7')
})
