// The CLI's HTTP client against real servers that answer oddly: silence, empty errors, plain text.
import t from 'tap'
import { GatewayClient, readProblem } from '../../src/cli/http.js'
import { startOddGateway } from './run.js'

async function refusal (call: Promise<unknown>): Promise<unknown> {
  try {
    await call
  } catch (err) {
    return err
  }
  throw new Error('expected a refusal')
}

t.test('gives up waiting after the timeout, as unreachable', async (t) => {
  const odd = await startOddGateway(() => {})
  t.teardown(odd.close)
  const client = new GatewayClient(odd.url, 200)
  await t.rejects(client.json('GET', '/v1/me', { token: null }), { name: 'UnreachableError', exitCode: 3, message: `no answer from ${odd.url} within 0.2s` })
})

t.test('says why a call could not be made', async (t) => {
  // Port 1 is on fetch's list of ports it never connects to.
  t.match(await refusal(new GatewayClient('http://127.0.0.1:1', 1000).json('GET', '/v1/me', { token: null })), { exitCode: 3, message: 'cannot reach the gateway at http://127.0.0.1:1 (bad port)' })
  const odd = await startOddGateway(() => {})
  t.teardown(odd.close)
  t.match(await refusal(new GatewayClient(odd.url, 1000).json('GET', '/v1/me', { token: 'line\nbreak' })), { exitCode: 3, message: /^cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \([\s\S]*invalid header value/ })
})

t.test('lets the caller cancel without calling it unreachable', async (t) => {
  const odd = await startOddGateway(() => {})
  t.teardown(odd.close)
  const stop = new AbortController()
  const call = new GatewayClient(odd.url, 5000).send('GET', '/v1/audit/stream', { token: 'x', signal: stop.signal })
  setTimeout(() => { stop.abort() }, 50)
  await t.rejects(call, { name: 'AbortError' })
})

t.test('makes a problem of any error body', async (t) => {
  const odd = await startOddGateway((req, res) => {
    if (req.url === '/empty') res.writeHead(502).end()
    else if (req.url === '/text') res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded\nstack…')
    else res.writeHead(400, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 400, code: 'VALIDATION_FAILED', detail: 'body/title is required', title: 'Bad Request' }))
  })
  t.teardown(odd.close)
  const client = new GatewayClient(`${odd.url}/`, 5000)
  t.match(await refusal(client.send('GET', '/empty', { token: null })), { problem: { status: 502, code: 'HTTP_502', detail: '502 Bad Gateway' }, hint: /try again shortly/ })
  t.match(await refusal(client.send('GET', '/text', { token: null })), { problem: { status: 500, code: 'HTTP_500', detail: 'upstream exploded' } })
  t.match(await refusal(client.send('POST', '/problem', { token: 't', json: {} })), { message: 'body/title is required (VALIDATION_FAILED)', hint: /lockbox <command> --help/ })
  const answered = await client.send('GET', '/empty', { token: null, acceptErrors: true })
  t.equal(answered.status, 502)
  t.same(await readProblem(answered), { status: 502, code: 'HTTP_502', detail: '502 Bad Gateway' })
})

t.test('builds URLs under a base with a path, skipping unset query values', async (t) => {
  const client = new GatewayClient('https://gw.example/lockbox/', 1000)
  t.equal(client.url('/v1/audit', { tenantId: 'contoso', limit: 5, cursor: undefined }).href, 'https://gw.example/lockbox/v1/audit?tenantId=contoso&limit=5')
})
