// The enforcement invariant under a race (issue #10): dozens of downloads of a large file start
// around a revoke, round after round, on the embedded store and on two Redis replicas sharing one
// server. None may keep streaming (each is refused or cut), and no ContentAccessed may follow the
// revoke's record in the tenant's chain. The counts of each round are printed as test comments.
import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { quietLog, type Log } from '../../../src/log.js'
import type { ConnectTiming } from '../../../src/stores/redis/connect.js'
import type { GrantEvent } from '../../../src/stores/types.js'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { tempDir } from '../../helpers/config.js'
import { accessTokenOf, eventually, listen } from '../../helpers/content.js'
import { freshNamespace, openTestStores, redisForTests, startRedisServer } from '../../helpers/redis.js'
import { download, type Download } from '../../helpers/transfer.js'
import { approvedRequest } from '../../helpers/workflow.js'

const PHOENIX = '/sharepoint/contoso/sites/finance/files/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip'
const DOWNLOADS = 32
const ROUNDS = 5
/** How long after the first half of the downloads the revoke is sent, round by round. */
const DELAYS_MS = [0, 2, 5, 10, 20]

interface Round { admitted: number, refused: number, cut: number, cutBeforeAnswer: number, other: number, stallMs: number }

/** One download: its head, or the connection cut before any answer (a flight cut during its checks). */
async function attempt (port: number, authorization: string): Promise<Download | 'cut'> {
  try {
    // Read slowly: 50 MiB at 1 MiB per 200 ms would stream for 10 s unless cut.
    return await download(port, PHOENIX, { authorization }, { pauseMs: 200, pauseEvery: 1024 * 1024 })
  } catch {
    return 'cut'
  }
}

/** The revoke over a real socket too, so it meets the downloads at the gateway rather than ahead of them. */
async function revokeOverHttp (control: TestApp, port: number, requestId: string): Promise<{ status: number, body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/requests/${requestId}/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await control.token('contoso-approver')}`, 'content-type': 'application/json' },
    body: '{}'
  })
  return { status: res.status, body: await res.text() }
}

async function race (t: Test, control: TestApp, ports: number[], delayMs: number): Promise<Round> {
  // The longest the event loop (both replicas' and the test's) stood still in the round, for the comment.
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const request = await approvedRequest(control, { workload: 'sharepoint', scope: '/sites/finance' })
  const authorization = `Bearer ${await accessTokenOf(control, request.id)}`
  await control.token('contoso-approver')
  // Half before the revoke, half after, on every replica in turn, none awaited.
  const started: Array<Promise<Download | 'cut'>> = []
  for (let i = 0; i < DOWNLOADS / 2; i++) started.push(attempt(ports[i % ports.length] as number, authorization))
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
  const revoke = revokeOverHttp(control, ports[0] as number, request.id)
  for (let i = DOWNLOADS / 2; i < DOWNLOADS; i++) started.push(attempt(ports[i % ports.length] as number, authorization))
  const answer = await revoke
  t.equal(answer.status, 200, 'the revoke answers 200', { body: answer.body })
  const outcomes = await Promise.all(started)
  const round: Round = { admitted: 0, refused: 0, cut: 0, cutBeforeAnswer: 0, other: 0, stallMs: 0 }
  const others: number[] = []
  for (const outcome of outcomes) {
    if (outcome === 'cut') {
      round.cutBeforeAnswer++
      continue
    }
    if (outcome.status === 403) {
      round.refused++
      continue
    }
    if (outcome.status !== 200) {
      // Neither admitted nor refused (a 503, say): counted apart, so it is not taken for a download that streamed on.
      round.other++
      others.push(outcome.status)
      await outcome.ended
      continue
    }
    round.admitted++
    const { complete } = await outcome.ended
    if (!complete) round.cut++
  }
  loop.disable()
  round.stallMs = Math.round(loop.max / 1e6)
  t.same(others, [], 'every download is admitted, refused or cut')
  t.equal(round.refused + round.admitted + round.cutBeforeAnswer + round.other, DOWNLOADS)
  t.equal(round.cut, round.admitted, 'every admitted download was cut: none kept streaming')

  // Read from the store itself: what the chain holds, whatever the API makes of it.
  const records = (await control.app.stores.audit.query({ tenantId: 'contoso', requestId: request.id, limit: 1000 })).items as unknown as Array<Record<string, any>>
  const revoked = records.find((record) => record.operation === 'LockboxAccessRevoked') as Record<string, any>
  t.ok(revoked, 'the revoke is on the chain')
  const after = records.filter((record) => record.operation === 'ContentAccessed' && record.seq > revoked.seq)
  t.same(after.map((record) => record.seq), [], 'no ContentAccessed after the revoke')
  const accessed = records.filter((record) => record.operation === 'ContentAccessed').length
  t.ok(accessed >= round.admitted && accessed <= round.admitted + round.cutBeforeAnswer, 'every access recorded is one admitted, or one cut while its record was being written')
  return round
}

async function rounds (t: Test, control: TestApp, ports: number[]): Promise<void> {
  for (let n = 1; n <= ROUNDS; n++) {
    const delayMs = DELAYS_MS[(n - 1) % DELAYS_MS.length] as number
    const round = await race(t, control, ports, delayMs)
    t.comment(`round ${n} (revoke ${delayMs} ms after the first half): ${DOWNLOADS} downloads → admitted ${round.admitted} (cut ${round.cut}), refused ${round.refused}, cut before an answer ${round.cutBeforeAnswer}; longest event loop stall ${round.stallMs} ms`)
  }
  const verify = await control.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })
  t.match(verify.json(), { valid: true })
}

t.test('embedded store: downloads racing a revoke are refused or cut, and never recorded after it', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await rounds(t, h, [await listen(h)])
})

interface ReplicaOptions {
  /** The server (default: redisForTests'). */
  url?: string
  /** How replica B's store connects (another ACL user, say); default `url`. */
  urlB?: string
  logB?: Log
  timing?: Partial<ConnectTiming>
}

/**
 * Redis commands may take this long here, not the default 1 s: these tests are about cutting
 * transfers, not about outages (test/stores/redis-outage.test.ts). On a loaded machine the event
 * loop alone can stand still for most of a second (the rounds print the longest stall), and Redis
 * is starved of CPU too: a commit's answer can come too late, the revoke answers 503, and the
 * downloads rightly stream on.
 */
const PATIENT: Partial<ConnectTiming> = { commandTimeoutMs: 10_000 }

/** Two gateways sharing one Redis namespace, and the id of each one's pub/sub connection. */
async function twoReplicas (t: Test, options: ReplicaOptions = {}): Promise<{ replicas: [TestApp, TestApp], subscribers: string[], admin: Redis, namespace: string }> {
  const url = options.url ?? await redisForTests(t)
  const namespace = freshNamespace()
  const dir = tempDir()
  t.teardown(dir.remove)
  const admin = new Redis(url)
  t.teardown(() => { admin.disconnect() })
  const pubsub = async (): Promise<string[]> => ((await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
    .split('\n').map((line) => /\bid=(\d+)/.exec(line)?.[1]).filter((id): id is string => id !== undefined)
  const replicas: TestApp[] = []
  const subscribers: string[] = []
  for (let i = 0; i < 2; i++) {
    const before = new Set(await pubsub())
    const storeUrl = i === 1 ? options.urlB ?? url : url
    const stores = await openTestStores(t, { url: storeUrl }, { namespace, timing: { ...PATIENT, ...options.timing }, ...(i === 1 && options.logB !== undefined ? { log: options.logB } : {}) })
    subscribers.push(...(await pubsub()).filter((id) => !before.has(id)))
    const h = await startTestApp({ dataDir: dir.path, config: { store: 'redis', redisUrl: url }, overrides: { stores } })
    t.teardown(h.close)
    replicas.push(h)
  }
  return { replicas: replicas as [TestApp, TestApp], subscribers, admin, namespace }
}

t.test('two Redis replicas: downloads on both racing a revoke on one are refused or cut', async (t) => {
  const { replicas: [a, b] } = await twoReplicas(t)
  await rounds(t, a, [await listen(a), await listen(b)])
})

t.test('a replica whose grant event was lost still cuts the revoked download, by re-reading the store', async (t) => {
  // A server of this test's own: it changes an ACL user there. Replica B's store connects as that user.
  const server = await startRedisServer()
  t.teardown(server.stop)
  const password = randomBytes(12).toString('hex')
  const setup = new Redis(server.url)
  t.equal(await setup.call('ACL', 'SETUSER', 'replica-b', 'on', `>${password}`, '~*', '&*', '+@all'), 'OK')
  setup.disconnect()
  const logged: string[] = []
  /** What B logged about its grant event subscription (not the connection's own comings and goings). */
  const lines = (): string[] => logged.filter((line) => line.includes('grant event subscription'))
  const logB: Log = {
    ...quietLog,
    info: (_fields, message) => { logged.push(`info ${message}`) },
    warn: (fields, message) => { logged.push(`warn ${message} (${String((fields as { err?: Error }).err?.message)})`) }
  }
  const { replicas: [a, b], admin, namespace } = await twoReplicas(t, { url: server.url, urlB: `redis://replica-b:${password}@127.0.0.1:${server.port}`, logB })
  /** B's connections subscribed to anything. */
  const subscribedB = async (): Promise<string[]> => ((await admin.call('CLIENT', 'LIST')) as string)
    .split('\n').filter((line) => /\buser=replica-b\b/.test(line) && !/\bsub=0 psub=0\b/.test(line))
  t.equal((await subscribedB()).length, 1, 'B listens on one connection')

  const portB = await listen(b)
  const request = await approvedRequest(a, { workload: 'sharepoint', scope: '/sites/finance' })
  const authorization = `Bearer ${await accessTokenOf(a, request.id)}`
  const events: GrantEvent[] = []
  t.teardown(b.app.stores.grantEvents.subscribe((event) => events.push(event)))
  let renewals = 0
  t.teardown(b.app.stores.grantEvents.resubscribed(() => { renewals++ }))
  const res = await download(portB, PHOENIX, { authorization }, { pauseMs: 200, pauseEvery: 1024 * 1024 })
  t.equal(res.status, 200)

  // B loses the grant channel before the revoke: Redis closes B's subscribed connection at once and
  // refuses its renewal (NOPERM) until the channel is given back, however fast B reconnects. B's
  // command connection goes on, and may still publish its audit records.
  t.equal(await admin.call('ACL', 'SETUSER', 'replica-b', 'resetchannels', `&${namespace}:audit-records`), 'OK')
  t.same(await subscribedB(), [], 'B listens nowhere')
  await eventually('B\'s renewal is refused', lines, (refused) => refused.length > 0)
  t.match(lines(), [/^warn could not renew the grant event subscription: trying again every 1000 ms.*\(NOPERM/], 'the refusal is logged once')
  const revoke = await a.as('contoso-approver', { method: 'POST', url: `/v1/requests/${request.id}/revoke` })
  t.equal(revoke.statusCode, 200)
  const revokedAt = Date.now()
  await eventually('B cuts its transfer', async () => b.app.gateway.inFlight.size, (size) => size === 0)
  t.comment(`B cut its download ${Date.now() - revokedAt} ms after the revoke on A (re-checks: ${JSON.stringify(b.app.gateway.inFlight.stats)})`)
  const { complete } = await res.ended
  t.notOk(complete, 'cut, not streamed to the end')
  t.same(events.filter((event) => event.requestId === request.id), [], 'B never heard the grant event')
  t.ok(b.app.gateway.inFlight.stats.recheckCuts > 0, 'B cut it on re-reading the grant from the store')
  t.equal(renewals, 0, 'B\'s subscription was never renewed meanwhile')
  const records = (await a.app.stores.audit.query({ tenantId: 'contoso', requestId: request.id, operations: ['ContentAccessCompleted'], limit: 10 })).items
  t.match(records, [{ details: { completed: false, cutBy: 'Revoked' } }])

  // The channel given back, B's retries renew the subscription, and B hears grant events again.
  t.equal(await admin.call('ACL', 'SETUSER', 'replica-b', 'allchannels'), 'OK')
  await eventually('B renews its subscription', () => renewals, (n) => n === 1)
  t.equal((await subscribedB()).length, 1, 'B listens again')
  t.match(lines(), [/^warn could not renew/, /^info the grant event subscription is renewed$/], 'one refusal logged, then the renewal')
  t.equal(lines().length, 2, 'the retries in between log nothing')
  const next = await approvedRequest(a, { workload: 'sharepoint', scope: '/sites/finance' })
  t.equal((await a.as('contoso-approver', { method: 'POST', url: `/v1/requests/${next.id}/revoke` })).statusCode, 200)
  await eventually('B hears the next revoke', () => events.filter((event) => event.requestId === next.id).length, (n) => n === 1)
})

t.test('a replica whose grant events subscription was renewed re-reads its grants in flight at once', async (t) => {
  const { replicas: [, b], subscribers, admin } = await twoReplicas(t)
  // Nothing in flight: no periodic re-check runs, so a re-check can only come from the renewal.
  t.equal(b.app.gateway.inFlight.size, 0)
  t.equal(b.app.gateway.inFlight.stats.rechecks, 0)
  t.equal(await admin.call('CLIENT', 'KILL', 'ID', subscribers[1] as string), 1)
  await eventually('B re-checks once its subscription is back', async () => b.app.gateway.inFlight.stats.rechecks, (rechecks) => rechecks === 1)
  t.match(b.app.gateway.inFlight.stats, { rechecks: 1, reads: 0, recheckCuts: 0 }, 'one re-check, of nothing')
})
