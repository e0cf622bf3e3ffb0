import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { SIGNATURE_HEADER, signWebhook, verifyWebhook, webhookSender } from '../../src/notify/webhook.js'
import type { OutboxMessage } from '../../src/notify/types.js'

const SECRET = 'whsec-test'
const NOW = 1_795_000_000

t.test('signs t.body and verifies only the very same body, recently', async (t) => {
  const body = '{"type":"lockbox.request.approved"}'
  const header = signWebhook(body, SECRET, NOW)
  t.match(header, /^t=1795000000,v1=[0-9a-f]{64}$/)
  t.ok(verifyWebhook(header, body, SECRET, NOW + 10))
  t.notOk(verifyWebhook(header, body.replace('approved', 'denied'), SECRET, NOW), 'an altered body')
  t.notOk(verifyWebhook(header, body, 'other-secret', NOW), 'another secret')
  t.notOk(verifyWebhook(header, body, SECRET, NOW + 301), 'a replay after the tolerance')
  t.notOk(verifyWebhook(header.replace('t=1795000000', 't=1795000100'), body, SECRET, NOW + 100), 'a moved timestamp')
  for (const bad of [undefined, '', 'v1=abc', 't=x,v1=' + 'a'.repeat(64), `t=${NOW},v1=zz`]) t.notOk(verifyWebhook(bad, body, SECRET, NOW), String(bad))
})

function message (body: string): OutboxMessage {
  return { id: 'n-1', tenantId: 'contoso', requestId: 'r-1', channel: 'webhook', kind: 'RequestDecided', event: 'lockbox.request.approved', email: null, webhook: body, createdAt: '', status: 'pending', attempts: 0, nextAttemptAt: 0, lastError: null, leaseUntil: 0, version: 0 }
}

t.test('posts the body with its signature; a receiver verifies it and rejects a replay', async (t) => {
  const seen: Array<{ headers: IncomingMessage['headers'], body: string }> = []
  let status = 204
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => { seen.push({ headers: req.headers, body }); res.statusCode = status; res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`
  const sender = webhookSender(url, SECRET, () => NOW * 1000)
  await sender.send(message('{"text":"hello"}'))
  t.equal(seen.length, 1)
  const { headers, body } = seen[0]!
  t.equal(body, '{"text":"hello"}')
  t.equal(headers['content-type'], 'application/json')
  t.equal(headers['x-lockbox-event'], 'lockbox.request.approved')
  t.equal(headers['x-lockbox-delivery'], 'n-1')
  t.ok(verifyWebhook(headers[SIGNATURE_HEADER] as string, body, SECRET, NOW), 'the receiver accepts it')
  t.notOk(verifyWebhook(headers[SIGNATURE_HEADER] as string, body, SECRET, NOW + 3600), 'and refuses the same delivery replayed an hour later')

  status = 500
  await t.rejects(sender.send(message('{}')), /webhook answered 500/)
  await t.rejects(webhookSender('http://127.0.0.1:9/closed', SECRET).send(message('{}')))
})
