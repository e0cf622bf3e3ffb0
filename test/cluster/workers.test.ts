// LOCKBOX_WORKERS with real processes: a primary and two workers on one port and one Redis. Each
// check reaches the processes it needs through clients pinned to one connection (so to one worker);
// the cluster is started once and, at the end, restarts a killed worker and drains on SIGTERM.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/config.js'
import { pinWorkers, startCluster, type Pinned } from '../helpers/cluster.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { openSse } from '../helpers/sse.js'
import { startRedisServer } from '../helpers/redis.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'
const ARCHIVE = '/sharepoint/contoso/sites/finance/files/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip'

// Three processes load the TypeScript sources at start, which takes a while on a busy machine.
t.setTimeout(600_000)

t.test('a worker that cannot start stops the cluster, which exits 1 rather than forking again and again', async (t) => {
  const redis = await startRedisServer()
  t.teardown(redis.stop)
  const dir = tempDir()
  t.teardown(dir.remove)
  const taken = createServer()
  await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { taken.close() })
  const port = (taken.address() as AddressInfo).port
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_'))),
      LOCKBOX_WORKERS: '2',
      LOCKBOX_STORE: 'redis',
      LOCKBOX_REDIS_URL: redis.url,
      LOCKBOX_DATA_DIR: dir.path,
      LOCKBOX_PORT: String(port),
      // Configured upstreams: the primary starts no mocks.
      LOCKBOX_UPSTREAM_EXCHANGE: 'http://127.0.0.1:9',
      LOCKBOX_UPSTREAM_SHAREPOINT: 'http://127.0.0.1:9',
      LOCKBOX_UPSTREAM_ONEDRIVE: 'http://127.0.0.1:9',
      LOCKBOX_LOG_LEVEL: 'info'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(output, /failed to start: .*EADDRINUSE/)
  t.match(output, /a worker failed to start; stopping the others/)
  t.notMatch(output, /starting another/)
  t.notMatch(output, /mock content services started/)
})

t.test('two worker processes on one port and one Redis', async (t) => {
  const redis = await startRedisServer()
  t.teardown(redis.stop)
  const dir = tempDir()
  t.teardown(dir.remove)
  const cluster = await startCluster({ LOCKBOX_WORKERS: '2', LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url, LOCKBOX_DATA_DIR: dir.path })
  t.teardown(() => { cluster.child.kill('SIGKILL') })
  const { base } = cluster
  const [a, b] = await pinWorkers(base, 2) as [Pinned, Pinned]
  t.teardown(async () => { await a.close(); await b.close() })

  t.equal(cluster.output().match(/Lockbox Gateway listening on/g)?.length, 1, 'one banner, printed by the primary')
  t.match(cluster.output(), /processes: 2 \(LOCKBOX_WORKERS\)/)
  t.equal(cluster.output().match(/built-in mock content services started/g)?.length, 1, 'the mocks start once, in the primary')

  const identity = async (user: string): Promise<string> => {
    const res = await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) })
    return ((await res.json()) as { token: string }).token
  }
  const users = Object.fromEntries(await Promise.all(['contoso-user', 'eng-ada', 'mgr-carol', 'contoso-approver', 'sec-erin'].map(async (u) => [u, await identity(u)] as const)))
  const ok = async (p: Pinned, method: string, path: string, user: string, body?: unknown): Promise<any> => {
    const answer = await p.call(method, path, { bearer: users[user] as string, body })
    if (answer.status >= 300) throw new Error(`${method} ${path} in ${p.pid}: ${answer.status} ${answer.text}`)
    return answer.text === '' ? null : answer.json()
  }
  /** A request awaiting the customer's decision, made through `p`. */
  const awaitingCustomer = async (p: Pinned, workload = 'exchange', scope = '/mailboxes/alice@contoso.com'): Promise<string> => {
    const sr = await ok(p, 'POST', '/v1/tenants/contoso/service-requests', 'contoso-user', { title: 'Cluster test', description: 'Several processes' })
    const request = await ok(p, 'POST', '/v1/requests', 'eng-ada', { tenantId: 'contoso', serviceRequestNumber: sr.number, workload, duration: 'PT2H', justification: 'Cluster test', scope })
    await ok(p, 'POST', `/v1/requests/${request.id as string}/review`, 'mgr-carol', { decision: 'Approve' })
    return request.id
  }
  const tokenOf = async (p: Pinned, id: string): Promise<string> => (await ok(p, 'POST', `/v1/requests/${id}/token`, 'eng-ada')).accessToken
  const auditOf = async (query: string): Promise<Array<Record<string, any>>> => (await ok(a, 'GET', `/v1/audit?${query}&limit=1000`, 'sec-erin')).items

  t.test('both processes sign with one key: a token issued by one is honoured by the other', async (t) => {
    t.same((await a.call('GET', '/.well-known/jwks.json')).json(), (await b.call('GET', '/.well-known/jwks.json')).json())
    const id = await awaitingCustomer(a)
    await ok(b, 'POST', `/v1/requests/${id}/decision`, 'contoso-approver', { decision: 'Approve' })
    const token = await tokenOf(a, id)
    t.equal((await b.call('GET', MESSAGES, { bearer: token })).status, 200)
    t.equal((await a.call('GET', MESSAGES, { bearer: token })).status, 200)
  })

  t.test('racing decisions on one request sent to different processes: one winner, one record', async (t) => {
    for (let round = 0; round < 3; round++) {
      const id = await awaitingCustomer(a)
      const answers = await Promise.all([
        a.call('POST', `/v1/requests/${id}/decision`, { bearer: users['contoso-approver'], body: { decision: 'Approve' } }),
        b.call('POST', `/v1/requests/${id}/decision`, { bearer: users['contoso-approver'], body: { decision: 'Deny' } })
      ])
      const statuses = answers.map((answer) => answer.status).sort()
      t.same(statuses, [200, 409], `one decision wins, the other is refused: ${answers.map((x) => x.text).join(' | ')}`)
      const decisions = (await auditOf(`requestId=${id}`)).filter((r) => r.operation === 'LockboxRequestApproved' || r.operation === 'LockboxRequestDenied')
      t.equal(decisions.length, 1, 'one decision record')
      const winner = answers.find((answer) => answer.status === 200)?.json()
      t.equal(decisions[0]?.operation, winner.status === 'Approved' ? 'LockboxRequestApproved' : 'LockboxRequestDenied', 'the record is the winner\'s')
    }
  })

  t.test('concurrent appends from both processes keep the chain valid', async (t) => {
    const id = await awaitingCustomer(a)
    await ok(a, 'POST', `/v1/requests/${id}/decision`, 'contoso-approver', { decision: 'Approve' })
    const token = await tokenOf(a, id)
    // Many connections of each process at once (fetch spreads them too): 2 records per call.
    const calls = 120
    const answers = await Promise.all(Array.from({ length: calls }, async (_, i) => (i % 3 === 0 ? a.call('GET', MESSAGES, { bearer: token }) : fetch(base + MESSAGES, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => ({ status: res.status, text: await res.text() })))))
    t.same(answers.filter((x) => x.status !== 200), [], 'every call answered 200')
    await Promise.all(Array.from({ length: 20 }, async () => await b.call('GET', MESSAGES, { bearer: token })))
    // Each outcome record is committed as its answer ends, so the last few may still be on their way.
    const expected = 2 * (calls + 20)
    let records: Array<Record<string, any>> = []
    for (let tries = 0; records.length < expected && tries < 100; tries++) {
      if (tries > 0) await sleep(100)
      records = await auditOf(`requestId=${id}&operation=ContentAccessed,ContentAccessCompleted`)
    }
    t.equal(records.length, expected, 'an access and its outcome for every call, none lost or doubled')
    t.equal(new Set(records.map((r) => r.details.accessId)).size, calls + 20, 'two records per access')
    t.match(await ok(b, 'GET', '/v1/audit/verify?tenantId=contoso', 'sec-erin'), { valid: true, firstInvalidSeq: null }, 'the chain all processes appended to is whole')
  })

  t.test('a revoke through one process: every process refuses the token and a download in flight in the other is cut', async (t) => {
    const REPORT = '/sharepoint/contoso/sites/finance/files/Shared%20Documents/Q3%20report.docx'
    const id = await awaitingCustomer(a, 'sharepoint', '/sites/finance')
    await ok(a, 'POST', `/v1/requests/${id}/decision`, 'contoso-approver', { decision: 'Approve' })
    const token = await tokenOf(a, id)
    t.equal((await a.call('GET', REPORT, { bearer: token })).status, 200, 'process A serves it (and caches the grant)')
    t.equal((await b.call('GET', REPORT, { bearer: token })).status, 200, 'so does B')
    // The 50 MiB archive, read slowly on a connection of process A.
    const fresh = await pinWorkers(base, 2)
    const downloader = fresh.find((p) => p.pid === a.pid) as Pinned
    for (const p of fresh) if (p !== downloader) await p.close()
    const transfer = await downloader.slowGet(ARCHIVE, token)
    t.equal(transfer.status, 200)
    const accessId = transfer.headers['x-lockbox-access-id'] as string

    // The revoke goes through process B; A hears of it from the store's events and cuts its stream.
    await ok(b, 'POST', `/v1/requests/${id}/revoke`, 'contoso-approver', { comment: 'enough' })
    const ended = await transfer.ended
    t.notOk(ended.complete, `the transfer in A was cut (${ended.bytes} of ${50 * 1024 * 1024} bytes)`)
    t.equal((await a.call('GET', REPORT, { bearer: token })).status, 403, 'A refuses the token')
    t.equal((await b.call('GET', REPORT, { bearer: token })).status, 403, 'B refuses the token')
    await downloader.close()
    // The outcome record is committed as the cut stream closes: wait for it rather than guess.
    let outcome
    while ((outcome = (await auditOf(`requestId=${id}&operation=ContentAccessCompleted`)).find((r) => r.details.accessId === accessId)) === undefined) await sleep(50)
    t.match(outcome, { result: 'Failure', details: { completed: false, cutBy: 'Revoked' } })
  })

  /** Sums a counter's samples in an exposition. */
  const total = (exposition: string, name: string): number => exposition.split('\n')
    .filter((line) => line.startsWith(name + '{') || line.startsWith(name + ' '))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)

  t.test('/metrics answers for every process, whichever serves the scrape', async (t) => {
    const id = await awaitingCustomer(a)
    await ok(a, 'POST', `/v1/requests/${id}/decision`, 'contoso-approver', { decision: 'Approve' })
    const token = await tokenOf(a, id)
    const before = total((await a.call('GET', '/metrics')).text, 'lockbox_content_requests_total')
    for (let i = 0; i < 5; i++) t.equal((await a.call('GET', MESSAGES, { bearer: token })).status, 200)
    for (let i = 0; i < 7; i++) t.equal((await b.call('GET', MESSAGES, { bearer: token })).status, 200)
    const fromB = (await b.call('GET', '/metrics')).text
    t.equal(total(fromB, 'lockbox_content_requests_total') - before, 12, 'the 5 calls served by A and the 7 by B')
    t.equal(total((await a.call('GET', '/metrics')).text, 'lockbox_content_requests_total'), total(fromB, 'lockbox_content_requests_total'), 'the same count from A')
    // A store-wide gauge is one store's count, not one per process added up.
    const approved = (await ok(a, 'GET', '/v1/requests?tenantId=contoso&status=Approved&limit=100', 'sec-erin')).items.length
    t.equal(total(fromB, 'lockbox_requests{status="Approved"}'), approved)
  })

  t.test('the live audit stream shows the records every process commits', async (t) => {
    const tokens: string[] = []
    for (const p of [a, b]) {
      const id = await awaitingCustomer(p)
      await ok(p, 'POST', `/v1/requests/${id}/decision`, 'contoso-approver', { decision: 'Approve' })
      tokens.push(await tokenOf(p, id))
    }
    // The stream lands on one of the processes; the accesses go through both, so one of them is the other's.
    const stream = await openSse(`${base}/v1/audit/stream?tenantId=contoso`, users['sec-erin'] as string)
    t.teardown(stream.close)
    const accessIds = { a: new Set<string>(), b: new Set<string>() }
    const streamed = (): Set<string> => new Set(stream.events.map((event) => JSON.parse(event.data).details.accessId as string))
    // A subscription takes effect a moment after the stream opens: access until both processes' records arrive.
    for (let round = 0; ![...accessIds.a].some((x) => streamed().has(x)) || ![...accessIds.b].some((x) => streamed().has(x)); round++) {
      if (round === 100) throw new Error('the stream did not show records of both processes')
      accessIds.a.add((await a.call('GET', MESSAGES, { bearer: tokens[0] })).headers['x-lockbox-access-id'] as string)
      accessIds.b.add((await b.call('GET', MESSAGES, { bearer: tokens[1] })).headers['x-lockbox-access-id'] as string)
      await stream.waitFor(stream.events.length + 1, 1000).catch(() => {})
    }
    t.pass('records committed by A and by B both streamed')
  })

  let workers: number[] = []
  t.test('a worker that dies is replaced', async (t) => {
    process.kill(b.pid, 'SIGKILL')
    await cluster.waitForOutput(/a worker died; starting another/)
    await cluster.waitForOutput(/worker restarted and listening/, 240_000)
    const now = await pinWorkers(base, 2)
    t.teardown(async () => { for (const p of now) await p.close() })
    t.ok(now.some((p) => p.pid === a.pid), 'A still serves')
    t.notOk(now.some((p) => p.pid === b.pid), 'B is gone')
    t.equal((await now[0]?.call('GET', '/readyz'))?.status, 200)
    t.equal((await now[1]?.call('GET', '/readyz'))?.status, 200)
    workers = now.map((p) => p.pid)
  })

  t.test('SIGTERM (and SIGINT after it) to the primary: every worker drains and exits, then the primary exits 0', async (t) => {
    cluster.child.kill('SIGTERM')
    // A second signal (a Ctrl-C reaches the primary too) changes nothing.
    cluster.child.kill('SIGINT')
    const code = await cluster.exited
    if (code !== 0) t.comment(cluster.output().slice(-4000))
    t.equal(code, 0, 'the primary exits 0')
    t.equal(cluster.output().match(/shutting down: draining requests and flushing the audit log/g)?.length, 2, 'both workers drained')
    for (const pid of workers) t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} exited`)
  })
})
