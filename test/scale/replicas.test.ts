// Two real gateway processes on one real Redis, driven over HTTP: one workflow, one audit chain,
// one view of live grants, and both failing closed while Redis is down.
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { tempDir } from '../helpers/config.js'
import { startRedisServer } from '../helpers/redis.js'
import { startCountingUpstream, startGateway, type Gateway } from './gateways.js'

const SCOPE = '/mailboxes/alice@contoso.com'
const CONTENT = `/exchange/contoso${SCOPE}/messages`
const LAG_SAMPLES = 50

// Durable on return (appendfsync always): what the gateways acknowledged is there after a restart.
const redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always'])
t.teardown(redis.stop)
const upstream = await startCountingUpstream()
t.teardown(upstream.close)
const dataDir = tempDir('lockbox-scale-')
t.teardown(dataDir.remove)
const env = { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url, LOCKBOX_DATA_DIR: dataDir.path, LOCKBOX_UPSTREAM_EXCHANGE: upstream.url }
// Started together on one data dir: they agree on one signing key and one dev issuer key.
const [a, b] = await Promise.all([startGateway(env), startGateway(env)]) as [Gateway, Gateway]
t.teardown(async () => { await Promise.all([a.stop(), b.stop()]) })

async function expect (gateway: Gateway, status: number, method: string, path: string, options: Parameters<Gateway['call']>[2] = {}): Promise<any> {
  const answer = await gateway.call(method, path, options)
  if (answer.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body
}

const serviceRequest = (await expect(a, 201, 'POST', '/v1/tenants/contoso/service-requests', { user: 'contoso-user', body: { title: 'Mail flow broken' } })).number as string

/** Created on `creator`, approved on `approver`: the workflow is one across replicas. */
async function approvedRequest (creator: Gateway, approver: Gateway): Promise<string> {
  const { id } = await expect(creator, 201, 'POST', '/v1/requests', {
    user: 'eng-ada',
    body: { tenantId: 'contoso', serviceRequestNumber: serviceRequest, workload: 'exchange', duration: 'PT2H', justification: 'Mailbox rule loop', scope: SCOPE }
  })
  await expect(approver, 200, 'POST', `/v1/requests/${id as string}/review`, { user: 'mgr-carol', body: { decision: 'Approve' } })
  await expect(approver, 200, 'POST', `/v1/requests/${id as string}/decision`, { user: 'contoso-approver', body: { decision: 'Approve' } })
  return id
}

async function tokenFor (gateway: Gateway, id: string): Promise<string> {
  return (await expect(gateway, 201, 'POST', `/v1/requests/${id}/token`, { user: 'eng-ada' })).accessToken
}

const CUT = -1

/** The status of a content request, or CUT when the gateway reset the exchange mid-flight. */
async function statusOrCut (gateway: Gateway, token: string): Promise<number> {
  try {
    return (await gateway.call('GET', CONTENT, { bearer: token })).status
  } catch (err) {
    if (err instanceof TypeError && err.message === 'fetch failed') return CUT
    throw err
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number

t.test('runs one workflow across replicas: created on one, approved on the other, a token from either works on both', async (t) => {
  const id = await approvedRequest(a, b)
  t.equal((await expect(a, 200, 'GET', `/v1/requests/${id}`, { user: 'eng-ada' })).status, 'Approved')
  const token = await tokenFor(a, id)
  const before = upstream.count()
  t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 200, 'a token from A works on B')
  t.equal((await a.call('GET', CONTENT, { bearer: await tokenFor(b, id) })).status, 200, 'and one from B on A')
  t.equal(upstream.count(), before + 2)
  const records = (await expect(b, 200, 'GET', `/v1/audit?tenantId=contoso&requestId=${id}`, { user: 'sec-erin' })).items as Array<{ operation: string }>
  t.same(records.map((record) => record.operation).filter((operation) => operation === 'ContentAccessed').length, 2, 'both replicas wrote to one chain')
  t.match(await expect(a, 200, 'GET', '/v1/audit/verify?tenantId=contoso', { user: 'sec-erin' }), { valid: true })
})

t.test('lets exactly one of 20 revokes racing across both replicas through, with one record, and both refuse the token', async (t) => {
  const id = await approvedRequest(a, b)
  const token = await tokenFor(b, id)
  t.equal((await a.call('GET', CONTENT, { bearer: token })).status, 200)
  const answers = await Promise.all(Array.from({ length: 20 }, (_, index) =>
    (index % 2 === 0 ? a : b).call('POST', `/v1/requests/${id}/revoke`, { user: 'contoso-approver', body: {} })))
  const statuses = answers.map((answer) => answer.status).sort()
  t.same(statuses, [200, ...Array.from({ length: 19 }, () => 409)])
  const revoked = (await expect(a, 200, 'GET', `/v1/audit?tenantId=contoso&requestId=${id}&operation=LockboxAccessRevoked`, { user: 'sec-erin' })).items
  t.equal(revoked.length, 1, 'one audit record')
  t.equal((await a.call('GET', CONTENT, { bearer: token })).status, 403)
  t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 403)
})

t.test('enforces a revoke answered on one replica on the other within milliseconds', async (t) => {
  const lags: number[] = []
  const allowed: number[] = []
  for (let sample = 0; sample < LAG_SAMPLES; sample++) {
    const id = await approvedRequest(a, a)
    const token = await tokenFor(a, id)
    // B has the grant in its cache: only the grant event (or the cache's TTL) can make it let go.
    t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 200)
    await expect(a, 200, 'POST', `/v1/requests/${id}/revoke`, { user: 'contoso-approver', body: {} })
    const revokedAt = performance.now()
    let status = 200
    let polls = 0
    for (; status === 200 && polls < 10_000; polls++) status = await statusOrCut(b, token)
    lags.push(performance.now() - revokedAt)
    allowed.push(polls - 1)
    // A request B admitted just before the grant event is cut by it: its connection is reset, which
    // is a refusal too; the next one is answered 403.
    if (status === CUT) status = (await b.call('GET', CONTENT, { bearer: token })).status
    t.equal(status, 403)
  }
  // Reported, not asserted: timings on a shared machine are no pass/fail criterion. The lag runs
  // from A's answer to B's first refusal, that refused request's own round trip included.
  const sorted = [...lags].sort((x, y) => x - y)
  t.comment(`revocation lag over ${LAG_SAMPLES} samples: p50 ${percentile(sorted, 0.5).toFixed(2)} ms, ` +
    `p99 ${percentile(sorted, 0.99).toFixed(2)} ms, max ${(sorted[sorted.length - 1] as number).toFixed(2)} ms; ` +
    `B refused the first request after A's answer in ${allowed.filter((count) => count === 0).length} of them`)
})

t.test('fails closed while Redis is down, forwarding nothing, and recovers without a restart', async (t) => {
  const id = await approvedRequest(a, b)
  const token = await tokenFor(b, id)
  t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 200, 'the grant is cached on B')
  const before = upstream.count()
  await redis.kill()
  t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 503, 'content: 503')
  t.equal((await a.call('GET', CONTENT, { bearer: token })).status, 503)
  t.equal((await b.call('GET', `/v1/requests/${id}`, { user: 'eng-ada' })).status, 503, 'API: 503')
  t.equal((await b.call('GET', '/readyz')).status, 503, 'readyz: 503')
  t.equal((await a.call('GET', '/readyz')).status, 503)
  t.equal(upstream.count(), before, 'the upstream saw nothing')

  await redis.start()
  for (const gateway of [a, b]) {
    for (let tries = 0; !await gateway.ready(); tries++) {
      if (tries === 200) throw new Error(`${gateway.base} never got ready again`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  t.pass('both ready again')
  t.equal((await b.call('GET', CONTENT, { bearer: token })).status, 200, 'content flows again')
  t.equal((await a.call('GET', `/v1/requests/${id}`, { user: 'eng-ada' })).status, 200)
  t.match(await expect(b, 200, 'GET', '/v1/audit/verify?tenantId=contoso', { user: 'sec-erin' }), { valid: true })
})
