// What passes between the upstream and the client besides the body: informational answers, the
// upstream's redirects, the access id the gateway adds, and a client that leaves before forwarding.
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { startTestApp, START, type TestApp } from '../../helpers/app.js'
import { tempDir } from '../../helpers/config.js'
import { contentRecords, eventually, granted, listen } from '../../helpers/content.js'
import { rawRequest } from '../../helpers/raw-http.js'
import { startRecordingUpstream } from '../../helpers/recording-upstream.js'
import { openEmbeddedStores } from '../../../src/stores/embedded/index.js'
import type { Change } from '../../../src/stores/types.js'

const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

/** A gateway in front of `handler` as every workload's upstream. */
async function gatewayBefore (t: Test, handler: Parameters<typeof createServer>[1]): Promise<TestApp> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const h = await startTestApp({ config: { upstreams: { exchange: url, sharepoint: url, onedrive: url } } })
  t.teardown(async () => {
    await h.close()
    server.closeAllConnections()
    await new Promise((resolve) => { server.close(resolve) })
  })
  return h
}

t.test('waits out an upstream\'s informational answer and forwards the final one', async (t) => {
  const h = await gatewayBefore(t, (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload' })
    res.writeHead(200, { 'content-type': 'text/plain' }).end('final')
  })
  const { authorization } = await granted(h)
  const res = await rawRequest(await listen(h), MESSAGES, { headers: { authorization } })
  t.equal(res.status, 200)
  t.equal(res.body, 'final')
})

t.test('points an upstream\'s redirect into /tenants back under the workload, and leaves others alone', async (t) => {
  const h = await gatewayBefore(t, (req, res) => {
    const location = req.url?.endsWith('/away') === true ? 'https://elsewhere.example/tenants/x' : '/tenants/contoso/mailboxes/alice@contoso.com/messages/2'
    res.writeHead(302, { location }).end()
  })
  const { authorization } = await granted(h)
  const port = await listen(h)
  const inside = await rawRequest(port, `${MESSAGES}/1`, { headers: { authorization } })
  t.equal(inside.status, 302)
  t.equal(inside.headers.location, '/exchange/contoso/mailboxes/alice@contoso.com/messages/2')
  const away = await rawRequest(port, `${MESSAGES}/away`, { headers: { authorization } })
  t.equal(away.headers.location, 'https://elsewhere.example/tenants/x')
})

t.test('names the access in x-lockbox-access-id, never with the upstream\'s value', async (t) => {
  const h = await gatewayBefore(t, (_req, res) => {
    res.writeHead(200, { 'x-lockbox-access-id': 'forged-by-upstream', 'content-length': '2' }).end('ok')
  })
  const { request, authorization } = await granted(h)
  const port = await listen(h)
  const res = await rawRequest(port, MESSAGES, { headers: { authorization } })
  t.equal(res.status, 200)
  const [accessed] = await contentRecords(h, request.id, 'ContentAccessed')
  t.equal(res.headers['x-lockbox-access-id'], accessed?.details.accessId)

  const refused = await rawRequest(port, '/exchange/contoso/mailboxes/bob@contoso.com', { headers: { authorization } })
  t.equal(refused.status, 403)
  const [denied] = await contentRecords(h, request.id, 'ContentAccessDenied')
  t.equal(refused.headers['x-lockbox-access-id'], denied?.details.accessId, 'a refusal names its record too')
})

t.test('forwards nothing for a client that left while its access was being recorded', async (t) => {
  const upstream = await startRecordingUpstream()
  const dir = tempDir()
  const stores = await openEmbeddedStores({ dataDir: dir.path, now: () => START })
  // The store is real; only the commit of an access record waits while the test holds the gate.
  let gate: Promise<void> | null = null
  let open = (): void => {}
  let held = 0
  const commit = stores.lockbox.commit
  stores.lockbox.commit = async (change: Change) => {
    if (gate !== null && change.audit.some((draft) => draft.operation === 'ContentAccessed')) {
      held++
      await gate
    }
    return await commit(change)
  }
  const h = await startTestApp({ config: { upstreams: { exchange: upstream.url, sharepoint: upstream.url, onedrive: upstream.url } }, overrides: { stores } })
  t.teardown(async () => {
    await h.close()
    await stores.close()
    await upstream.close()
    dir.remove()
  })
  const { request, authorization } = await granted(h)
  const port = await listen(h)
  gate = new Promise<void>((resolve) => { open = resolve })
  const socket = connect(port, '127.0.0.1', () => {
    socket.write(`GET ${MESSAGES} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${authorization}\r\n\r\n`)
  })
  socket.on('error', () => {})
  await eventually('access record held', async () => held, (n) => n === 1)
  socket.destroy()
  await eventually('connection gone', async () => await new Promise<number>((resolve) => { h.app.server.getConnections((_err, n) => { resolve(n) }) }), (n) => n === 0)
  gate = null
  open()
  const [completed] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, request.id, 'ContentAccessCompleted'), (r) => r.length > 0)
  t.match(completed, { result: 'Failure', details: { completed: false } })
  t.equal(upstream.requests.length, 0, 'nothing was forwarded')
  t.equal(h.app.gateway.inFlight.size, 0)
  const next = await rawRequest(port, MESSAGES, { headers: { authorization } })
  t.equal(next.status, 200, 'the next request is forwarded as usual')
})
