// The forwarding half on its own: header filtering both ways, and an exchange stopped from our side
// while it still waits for a pooled connection.
import t from 'tap'
import Fastify, { type FastifyReply } from 'fastify'
import { Pool } from 'undici'
import { hasBody, responseHeaderPairs, upstreamRequestHeaders, UpstreamExchange } from '../../../src/routes/content/forward.js'
import { startRecordingUpstream } from '../../helpers/recording-upstream.js'
import type { IncomingMessage } from 'node:http'
import { eventually } from '../../helpers/eventually.js'

t.test('passes end-to-end request headers and drops credentials, hop-by-hop and Connection-named ones', async (t) => {
  const raw = [
    'Host', 'gateway.example', 'Accept', 'application/json', 'Authorization', 'Bearer x', 'Cookie', 'a=1',
    'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Expect', '100-continue',
    'X-Forwarded-For', '203.0.113.7', 'X-Lockbox-Actor', 'forged', 'Content-Type', 'text/plain'
  ]
  t.same(upstreamRequestHeaders(raw, ['x-request-id', 'r1']), ['Accept', 'application/json', 'Content-Type', 'text/plain', 'x-request-id', 'r1'])
})

t.test('sees a body only where the client announced one', async (t) => {
  const message = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage
  t.equal(hasBody(message({})), false)
  t.equal(hasBody(message({ 'content-length': '0' })), false)
  t.equal(hasBody(message({ 'content-length': '12' })), true)
  t.equal(hasBody(message({ 'transfer-encoding': 'chunked' })), true)
})

t.test('never sends an exchange stopped while it waited for a connection', async (t) => {
  const upstream = await startRecordingUpstream()
  upstream.mode = 'hang'
  // One connection: the second exchange queues behind the first, which never gets an answer.
  const pool = new Pool(upstream.url, { connections: 1, pipelining: 1 })
  const exchanges: UpstreamExchange[] = []
  const replies: FastifyReply[] = []
  const failures: string[] = []
  const app = Fastify()
  app.get('/*', (request, reply: FastifyReply) => {
    const exchange = new UpstreamExchange(reply, 'exchange', 'access-1', {
      responded: () => {},
      bytes: () => {},
      brokeOff: () => {},
      failed: (error) => {
        failures.push(error.message)
        reply.code(502).send()
      }
    })
    exchanges.push(exchange)
    replies.push(reply)
    pool.dispatch({ path: request.url, method: 'GET', headers: [] }, exchange)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await pool.destroy()
    await app.close()
    await upstream.close()
  })
  const port = (app.server.address() as { port: number }).port
  const first = fetch(`http://127.0.0.1:${port}/first`).then((res) => res.status, () => 0)
  await eventually('upstream.requests.length === 1', () => upstream.requests.length === 1)
  const second = fetch(`http://127.0.0.1:${port}/second`).then((res) => res.status, () => 0)
  await eventually('exchanges.length === 2', () => exchanges.length === 2)
  const queued = exchanges[1] as UpstreamExchange
  queued.abort(new Error('client gone'))
  queued.abort(new Error('asked twice'))
  // The first exchange fails, its connection closes, and the queued one gets a connection: it is
  // stopped there, before a byte of it is written.
  ;(exchanges[0] as UpstreamExchange).abort(new Error('stop the first'))
  await eventually('queued.done', () => queued.done)
  t.same(upstream.requests.map((r) => r.url), ['/first'], 'the stopped exchange never reached the upstream')
  t.same(failures, [], 'an exchange stopped from our side is not answered as an upstream failure')
  // Both clients still wait: whoever stops an exchange answers its client.
  for (const reply of replies) reply.code(503).send()
  t.equal(await first, 503)
  t.equal(await second, 503)
})

t.test('reads the upstream head from the raw pairs undici hands over, else from the parsed headers', async (t) => {
  t.same(responseHeaderPairs([Buffer.from('Set-Cookie'), Buffer.from('a=1'), Buffer.from('Set-Cookie'), Buffer.from('b=2')], {}), ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'])
  t.same(responseHeaderPairs(['ETag', '"x"'], {}), ['ETag', '"x"'])
  t.same(responseHeaderPairs(null, { etag: '"x"', 'set-cookie': ['a=1', 'b=2'], missing: undefined }), ['etag', '"x"', 'set-cookie', 'a=1', 'set-cookie', 'b=2'])
})
