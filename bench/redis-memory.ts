// How Redis memory grows with what the gateway keeps there (docs/redis.md "Memory per record"):
// starts a redis-server of its own, then measures `used_memory` (INFO memory) before and after
//   1. N audit records, each a `ContentAccessed` like the gateway's, committed singly (the hot path);
//   2. M lockbox requests taken through created → approved → revoked with their four records;
//   3. M notification outbox messages (an approval e-mail with its HTML), as the workflow queues them.
// Usage: npm run bench:redis-memory -- [records=20000] [requests=2000]
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { AuditDraft } from '../src/domain/audit.js'
import { grantEventsOf } from '../src/domain/grant-event.js'
import { createRequest, iso, transition, type HistoryActor, type LockboxEvent, type LockboxRequest } from '../src/domain/lockbox.js'
import type { OutboxMessage } from '../src/notify/types.js'
import { openRedisStores } from '../src/stores/redis/index.js'
import type { Stores } from '../src/stores/types.js'

const RECORDS = Number(process.argv[2] ?? 20_000)
const REQUESTS = Number(process.argv[3] ?? 2_000)
const IN_FLIGHT = 256
const T0 = Date.parse('2026-01-05T09:00:00.000Z')
const HOUR = 3_600_000

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function startRedis (): Promise<{ url: string, stop: () => Promise<void> }> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'lockbox-redis-memory-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => { reject(new Error(`redis-server exited with ${String(code)}`)) })
  })
  child.stdout.resume()
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM')
      await once(child, 'exit')
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** `used_memory` once the server has settled (lazy frees done). */
async function usedMemory (admin: Redis): Promise<number> {
  await admin.call('MEMORY', 'PURGE')
  const info = await admin.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

/** Runs `work(i)` for i < n with at most IN_FLIGHT at once (concurrent commits share script calls). */
async function pooled (n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, async () => {
    while (next < n) await work(next++)
  }))
}

function accessDraft (requestId: string, i: number): AuditDraft {
  const path = `/mailboxes/alice@contoso.com/folders/Inbox/messages/AAMkAGI2TG93AAA${String(i).padStart(8, '0')}`
  return {
    tenantId: 'contoso',
    operation: 'ContentAccessed',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    clientIp: '203.0.113.7',
    requestId,
    workload: 'exchange',
    object: path,
    details: { accessId: randomUUID(), method: 'GET', path, query: '$select=subject,from,receivedDateTime' }
  }
}

const ACTORS: Record<string, HistoryActor> = {
  ManagerApprove: { id: 'mgr-carol', role: 'SupportManager' },
  CustomerApprove: { id: 'contoso-approver', role: 'CustomerLockboxApprover' },
  Revoke: { id: 'contoso-approver', role: 'CustomerLockboxApprover' }
}

function stepDraft (request: LockboxRequest, operation: string, actorId: string): AuditDraft {
  return {
    tenantId: request.tenantId,
    operation: operation as AuditDraft['operation'],
    result: 'Success',
    actor: { id: actorId, type: actorId.startsWith('eng') ? 'SupportEngineer' : actorId.startsWith('mgr') ? 'SupportManager' : 'CustomerApprover' },
    clientIp: '203.0.113.7',
    requestId: request.id,
    workload: request.workload,
    object: request.scope,
    details: { serviceRequestNumber: request.serviceRequestNumber, accessLevel: request.accessLevel, duration: request.duration, requester: request.requester.id, status: request.status }
  }
}

/** A request created, approved by manager and customer, then revoked: four commits, four records. */
async function lifecycle (stores: Stores, records: boolean): Promise<void> {
  let request = createRequest({
    id: randomUUID(),
    tenantId: 'contoso',
    serviceRequestNumber: '100001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT1H',
    durationMs: HOUR,
    justification: 'Mailbox stopped syncing after the migration; need to inspect the rules',
    requester: { id: 'eng-ada', name: 'Ada Engineer' }
  }, { now: T0, pendingTtlMs: 12 * HOUR })
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: request, expectedVersion: 0 }], audit: records ? [stepDraft(request, 'LockboxRequestCreated', 'eng-ada')] : [] })
  let version = 1
  for (const [n, event] of (['ManagerApprove', 'CustomerApprove', 'Revoke'] as LockboxEvent[]).entries()) {
    const actor = ACTORS[event] as HistoryActor
    const result = transition({ ...request, version }, event, { now: T0 + (n + 1) * 60_000, actor, pendingTtlMs: 12 * HOUR, lockboxEnabled: true })
    if (!result.ok) throw new Error(`${event} refused from ${result.status}`)
    await stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: result.request, expectedVersion: version }],
      audit: records ? [stepDraft(result.request, result.operation, actor.id)] : [],
      grantEvents: grantEventsOf(request.status, result.request)
    })
    request = result.request
    version++
  }
}

function approvalEmail (i: number): OutboxMessage {
  const link = `https://lockbox.contoso.example/admin/#/requests/${randomUUID()}`
  return {
    id: randomUUID(),
    tenantId: 'contoso',
    requestId: randomUUID(),
    channel: 'email',
    kind: 'ApprovalRequested',
    event: 'lockbox.request.awaiting_customer_approval',
    email: {
      to: ['it-approvers@contoso.com'],
      subject: 'Lockbox: Microsoft support asks for read access to exchange /mailboxes/alice@contoso.com',
      text: `Engineer Ada asks for read access to exchange /mailboxes/alice@contoso.com for 1 hour (service request 100001).\nJustification: Mailbox stopped syncing after the migration.\nDecide before 2026-01-05T21:00:00.000Z: ${link}\n`,
      html: `<p>Engineer Ada asks for <b>read</b> access to exchange <code>/mailboxes/alice@contoso.com</code> for 1 hour (service request 100001).</p><p>Justification: Mailbox stopped syncing after the migration.</p><p><a href="${link}">Decide before 2026-01-05T21:00:00.000Z</a></p>`
    },
    webhook: null,
    createdAt: iso(T0 + i),
    status: 'sent',
    attempts: 1,
    nextAttemptAt: T0 + i,
    lastError: null,
    leaseUntil: 0,
    version: 0
  }
}

async function measure (admin: Redis, label: string, n: number, work: () => Promise<void>): Promise<number> {
  const before = await usedMemory(admin)
  const started = Date.now()
  await work()
  const after = await usedMemory(admin)
  const per = (after - before) / n
  console.log(`${label}: ${n} → +${((after - before) / 1024 / 1024).toFixed(1)} MiB, ${Math.round(per)} bytes each (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  return per
}

const redis = await startRedis()
const admin = new Redis(redis.url)
const stores = await openRedisStores({ connection: { url: redis.url }, namespace: 'bench' })
try {
  const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1]
  console.log(`redis-server ${String(version)}, its own, no persistence; used_memory (INFO memory) after MEMORY PURGE`)
  // Warm-up: the tenant registered, the scripts loaded, the stream created.
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [accessDraft('warm-up', 0)] })
  const requestId = randomUUID()
  const [sealed] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [accessDraft(requestId, 1)] })
  console.log(`a sealed ContentAccessed record is ${JSON.stringify(sealed).length} bytes of JSON`)
  await measure(admin, 'audit records (ContentAccessed, one per commit)', RECORDS, async () => {
    await pooled(RECORDS, async (i) => await stores.lockbox.commit({ tenantId: 'contoso', audit: [accessDraft(requestId, i)] }))
  })
  await measure(admin, 'lockbox requests created → approved → revoked, state only (no records)', REQUESTS, async () => {
    await pooled(REQUESTS, async () => { await lifecycle(stores, false) })
  })
  await measure(admin, 'the same with their four records', REQUESTS, async () => {
    await pooled(REQUESTS, async () => { await lifecycle(stores, true) })
  })
  await measure(admin, 'notification outbox messages (an approval e-mail, sent)', REQUESTS, async () => {
    await pooled(REQUESTS, async (i) => await stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: approvalEmail(i), expectedVersion: 0 }], audit: [] }))
  })
} finally {
  await stores.close()
  admin.disconnect()
  await redis.stop()
}
