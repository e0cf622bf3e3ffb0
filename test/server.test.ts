// The process edge under load: SIGTERM while content requests stream in. The process must stop
// being ready at once, drain, commit the last records and exit 0, and every access a client saw
// answered must be on the audit log of the data dir it leaves behind, on an intact chain.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { openEmbeddedStores } from '../src/stores/embedded/index.js'
import type { LockboxRequest } from '../src/domain/lockbox.js'
import { startTestApp } from './helpers/app.js'
import { tempDir } from './helpers/config.js'
import { approvedRequest } from './helpers/workflow.js'
import { freePort } from './helpers/redis.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

// Six gateway processes, each loading the TypeScript sources as it starts.
t.setTimeout(600_000)
const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

interface Server { base: string, child: ChildProcess, exited: Promise<number | null>, output: () => string }

async function startServer (dataDir: string): Promise<Server> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_')))
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: { ...inherited, LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: String(port), LOCKBOX_DATA_DIR: dataDir, LOCKBOX_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8000) })
  child.stderr.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8000) })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  // Starting loads all the TypeScript: a minute and more on a machine busy with other work.
  const deadline = Date.now() + 240_000
  for (;;) {
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the gateway did not get ready:\n${output}`)
    }
    await sleep(50)
  }
  return { base, child, exited, output: () => output }
}

async function call (base: string, method: string, path: string, bearer: string | null, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text === '' ? null : JSON.parse(text)
}

/** The workflow over HTTP with dev identities, up to an engineer's access token. */
async function accessToken (base: string, workload = 'exchange', scope = '/mailboxes/alice@contoso.com'): Promise<string> {
  const who = async (user: string): Promise<string> => (await call(base, 'POST', '/dev/token', null, { user })).token
  const sr = await call(base, 'POST', '/v1/tenants/contoso/service-requests', await who('contoso-user'), { title: 'Mail flow broken', description: 'Messages bounce' })
  const engineer = await who('eng-ada')
  const request = await call(base, 'POST', '/v1/requests', engineer, {
    tenantId: 'contoso', serviceRequestNumber: sr.number, workload, duration: 'PT2H', justification: 'Shutdown test', scope
  })
  await call(base, 'POST', `/v1/requests/${request.id as string}/review`, await who('mgr-carol'), { decision: 'Approve' })
  await call(base, 'POST', `/v1/requests/${request.id as string}/decision`, await who('contoso-approver'), { decision: 'Approve' })
  return (await call(base, 'POST', `/v1/requests/${request.id as string}/token`, engineer)).accessToken
}

const ARCHIVE = '/sharepoint/contoso/sites/finance/files/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip'

t.test('SIGTERM during load loses no acknowledged audit record and exits 0', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const server = await startServer(dir.path)
  t.teardown(() => { server.child.kill('SIGKILL') })
  const authorization = `Bearer ${await accessToken(server.base)}`

  const acknowledged: string[] = []
  let stopping = false
  async function client (): Promise<void> {
    while (true) {
      let res: Response
      try {
        res = await fetch(server.base + MESSAGES, { headers: { authorization } })
      } catch {
        return // refused: the listener is closed
      }
      const accessId = res.headers.get('x-lockbox-access-id')
      await res.arrayBuffer()
      if (res.status === 200 && accessId !== null) acknowledged.push(accessId)
      else if (stopping) return
      else throw new Error(`unexpected ${res.status} before shutdown`)
    }
  }
  const clients = Array.from({ length: 16 }, client)
  while (acknowledged.length < 300) await sleep(10)

  stopping = true
  server.child.kill('SIGTERM')
  // From now on the process is never ready again: 503 while it drains, then nobody listens.
  const readiness: Array<number | 'refused'> = []
  while (server.child.exitCode === null && readiness.length < 50) {
    readiness.push(await fetch(`${server.base}/readyz`).then((res) => res.status, () => 'refused' as const))
  }
  await Promise.all(clients)
  t.equal(await server.exited, 0, `exit code 0; output:\n${server.output()}`)
  // The signal arrives a moment after it is sent; from the first answer that is not 200 on, none is.
  const notReady = readiness.findIndex((status) => status !== 200)
  t.ok(notReady >= 0 && !readiness.slice(notReady).includes(200), `not ready once draining: ${readiness.join(', ')}`)

  const stores = await openEmbeddedStores({ dataDir: dir.path })
  t.teardown(async () => { await stores.close() })
  const recorded = new Map<string, string[]>()
  for await (const record of stores.audit.export({ tenantId: 'contoso', operations: ['ContentAccessed', 'ContentAccessCompleted'] })) {
    const accessId = record.details.accessId as string
    recorded.set(accessId, [...(recorded.get(accessId) ?? []), record.operation])
  }
  const missing = acknowledged.filter((accessId) => recorded.get(accessId)?.[0] !== 'ContentAccessed')
  t.same(missing, [], `all ${acknowledged.length} acknowledged accesses were recorded before their answer`)
  const unfinished = acknowledged.filter((accessId) => recorded.get(accessId)?.[1] !== 'ContentAccessCompleted')
  t.same(unfinished, [], 'and each answered access has its outcome: the last batch was flushed')
  t.match(await stores.audit.verify('contoso'), { valid: true, firstInvalidSeq: null })
})

t.test('cuts a transfer still streaming when the drain time is up, records it, and exits 0', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const server = await startServer(dir.path)
  t.teardown(() => { server.child.kill('SIGKILL') })
  const base = server.base
  const token = await accessToken(base, 'sharepoint', '/sites/finance')
  const res = await fetch(base + ARCHIVE, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  const accessId = res.headers.get('x-lockbox-access-id')
  // The client reads one chunk and then nothing: the transfer stays in flight.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  await reader.read()
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, `exit code 0; output:\n${server.output()}`)
  await reader.cancel().catch(() => {})
  const stores = await openEmbeddedStores({ dataDir: dir.path })
  t.teardown(async () => { await stores.close() })
  const records = []
  for await (const record of stores.audit.export({ tenantId: 'contoso', operations: ['ContentAccessCompleted'] })) records.push(record)
  t.match(records, [{ result: 'Failure', details: { accessId, completed: false, cutBy: 'Shutdown' } }])
})

/** Resolves once the gateway no longer answers ready: it has begun to drain. */
async function draining (base: string): Promise<void> {
  while ((await fetch(`${base}/readyz`).then((res) => res.status, () => 'refused')) === 200) await sleep(10)
}

t.test('closes a keep-alive connection that goes idle while it drains', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const server = await startServer(dir.path)
  t.teardown(() => { server.child.kill('SIGKILL') })
  const token = await accessToken(server.base, 'sharepoint', '/sites/finance')
  // A client that keeps its connection open after the answer, and never sends again.
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 })
  t.teardown(() => { agent.destroy() })
  let connectionClosed = false
  const finished = new Promise<number>((resolve, reject) => {
    const req = request(`${server.base}${ARCHIVE}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.socket.once('close', () => { connectionClosed = true })
      let bytes = 0
      let signalled = false
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (signalled || bytes < 40 * 1024 * 1024) return
        // The download is under way when the signal comes, and stays so (the client stops reading)
        // until the drain has begun; it then finishes whole. The last 10 MB of it, not all 50, must
        // arrive within the drain time (5 s), however busy the machine.
        signalled = true
        res.pause()
        server.child.kill('SIGTERM')
        draining(server.base).then(() => { res.resume() }, reject)
      })
      res.on('end', () => { resolve(bytes) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(await finished, 50 * 1024 * 1024, 'the transfer in flight completes')
  t.equal(await server.exited, 0, `exit code 0 (not killed at the grace period); output:\n${server.output()}`)
  t.ok(connectionClosed, 'the server closed the idle connection')
})

/** Runs the server with `env` until it exits; resolves with its exit code and what it wrote to stderr. */
async function failedStart (env: Record<string, string>): Promise<{ code: number, stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_'))), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await once(child, 'exit')
  return { code: code as number, stderr }
}

t.test('refuses to start on a bad setting, naming it', async (t) => {
  const { code, stderr } = await failedStart({ LOCKBOX_PORT: 'eighty' })
  t.equal(code, 1)
  t.match(stderr, /LOCKBOX_PORT: "eighty" is not a port number/)
})

t.test('exits 1 when it cannot listen', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const taken = createServer()
  await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { taken.close() })
  const { code, stderr } = await failedStart({ LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: String((taken.address() as { port: number }).port), LOCKBOX_DATA_DIR: dir.path, LOCKBOX_LOG_LEVEL: 'silent' })
  t.equal(code, 1)
  t.match(stderr, /failed to start: .*EADDRINUSE/)
})

t.test('refuses to start, in one line naming the request, on state its audit chain does not back', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const h = await startTestApp({ dataDir: dir.path })
  const request = await approvedRequest(h)
  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${request.id}/revoke` })).statusCode, 200)
  await h.close()
  // Revoked → Approved behind the gateway's back, as an edit of the data dir while it is stopped.
  const stores = await openEmbeddedStores({ dataDir: dir.path })
  const stored = await stores.lockbox.getRequest(request.id) as LockboxRequest
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: { ...stored, status: 'Approved', accessEndsAt: new Date(Date.now() + 3_600_000).toISOString() }, expectedVersion: stored.version }], audit: [] })
  await stores.close()
  const { code, stderr } = await failedStart({ LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: '0', LOCKBOX_DATA_DIR: dir.path, LOCKBOX_LOG_LEVEL: 'silent' })
  t.equal(code, 1)
  t.equal(stderr, `lockbox-gateway: failed to start: request ${request.id} of tenant contoso is stored as Approved, but its audit chain says otherwise (record 5 left it Revoked): the stored state was changed outside the gateway\n`)
})
