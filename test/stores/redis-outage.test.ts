// The Redis store when Redis is gone, hung or not there yet: every call fails fast with
// StoreUnavailableError, ping turns false, and service resumes without reopening once Redis is back.
// Each test brings its own server: these tests kill it.
import t from 'tap'
import { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditRecord } from '../../src/domain/audit.js'
import { StoreUnavailableError } from '../../src/errors.js'
import { openRedisStores } from '../../src/stores/redis/index.js'
import { quietLog, type Log } from '../../src/log.js'
import { RedisKeys } from '../../src/stores/redis/keys.js'
import type { GrantEvent } from '../../src/stores/types.js'
import { freePort, freshNamespace, openTestStores, startRedisServer, type RedisServer } from '../helpers/redis.js'
import { draft, newRequest, storeRequest, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'

const FAST = { commandTimeoutMs: 300, connectTimeoutMs: 300, maxReconnectDelayMs: 50 }
/** Durable on return, so a restarted server still has what was acknowledged. */
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always']

async function server (t: Test, args: string[] = DURABLE, port?: number): Promise<RedisServer> {
  const started = await startRedisServer(args, { port })
  t.teardown(started.stop)
  return started
}

function recordingLog (): Log & { lines: string[] } {
  const lines: string[] = []
  return { ...quietLog, lines, info: (obj, msg) => lines.push(`info ${(obj as { client?: string }).client}: ${msg}`), warn: (obj, msg) => lines.push(`warn ${(obj as { client?: string }).client}: ${msg}`) }
}

t.test('refuses every call while Redis is down and resumes without reopening when it returns', async (t) => {
  const redis = await server(t)
  const log = recordingLog()
  const namespace = freshNamespace()
  const stores = await openTestStores(t, { url: redis.url }, { namespace, timing: FAST, log })
  const other = await openTestStores(t, { url: redis.url }, { namespace, timing: FAST })
  const request = await storeRequest(stores, newRequest())
  const events: GrantEvent[] = []
  t.teardown(stores.grantEvents.subscribe((event) => events.push(event)))

  await redis.kill()
  t.equal(await stores.ping(), false)
  const calls: Array<() => Promise<unknown>> = [
    () => stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }),
    () => stores.lockbox.getRequest(request.id),
    () => stores.audit.query({ limit: 5 }),
    () => stores.grantEvents.publish({ requestId: request.id, tenantId: 'contoso', status: 'Revoked' })
  ]
  for (const call of calls) await t.rejects(call(), StoreUnavailableError)
  await eventually('the log line "warn commands: Redis does not answer; reconnecting"', () => log.lines.includes('warn commands: Redis does not answer; reconnecting'))
  await sleep(300)
  t.equal(log.lines.filter((line) => line.startsWith('warn commands')).length, 1, 'an outage is logged once, not per attempt')

  await redis.start()
  await eventually('the log line "info commands: Redis answers again"', () => log.lines.includes('info commands: Redis answers again'))
  t.equal(await stores.ping(), true)
  t.same(await stores.lockbox.getRequest(request.id), request, 'what was acknowledged survived the restart')
  const [record] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }) as [AuditRecord]
  t.equal(record.seq, 2, 'the chain goes on')
  await eventually('other.ping()', async () => await other.ping())
  // Published until heard: the renewed subscription may take a moment to reach the server.
  await eventually('an event heard on the renewed subscription', async () => {
    await other.grantEvents.publish({ requestId: 'r-2', tenantId: 'contoso', status: 'Revoked' })
    await sleep(20)
    return events.length > 0
  })
  t.same(events[0], { requestId: 'r-2', tenantId: 'contoso', status: 'Revoked' }, 'subscriptions are renewed after the reconnect')
})

t.test('fails a call within its timeout when Redis hangs, and carries on once it answers', async (t) => {
  const redis = await server(t)
  const stores = await openTestStores(t, { url: redis.url }, { timing: FAST })
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  process.kill(redis.pid(), 'SIGSTOP')
  t.teardown(() => { process.kill(redis.pid(), 'SIGCONT') })
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }), { name: 'StoreUnavailableError', message: /timed out/i })
  t.equal(await stores.ping(), false)
  process.kill(redis.pid(), 'SIGCONT')
  // The timed-out commit may still have landed: whether it did or not, the chain stays whole.
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  t.match(await stores.audit.verify('contoso'), { valid: true })
})

t.test('opens while Redis is not there yet and serves once it comes', async (t) => {
  const port = await freePort()
  const log = recordingLog()
  const namespace = freshNamespace()
  const stores = await openRedisStores({ connection: { url: `redis://127.0.0.1:${port}` }, namespace, timing: FAST, log, connectWaitMs: 100 })
  t.teardown(() => stores.close())
  t.ok(log.lines.includes('warn undefined: Redis does not answer yet: the store answers 503 until it does'))
  t.equal(await stores.ping(), false)
  await t.rejects(stores.lockbox.getTenantSettings('contoso'), StoreUnavailableError)
  const events: GrantEvent[] = []
  t.teardown(stores.grantEvents.subscribe((event) => events.push(event)))

  const redis = await server(t, [], port)
  await eventually('the log line "info events: Redis answers again"', () => log.lines.includes('info events: Redis answers again'))
  await eventually('the log line "info commands: Redis answers again"', () => log.lines.includes('info commands: Redis answers again'))
  t.equal(await stores.ping(), true)
  const request = await storeRequest(stores, newRequest())
  // The grant channel subscription waited for Redis and was made once it came.
  const other = await openTestStores(t, { url: redis.url }, { namespace })
  await other.grantEvents.publish({ requestId: request.id, tenantId: 'contoso', status: 'Revoked' })
  await eventually('events.length === 1', () => events.length === 1)
})

t.test('closes at once when Redis is gone or hung, dropping subscriptions still waiting', async (t) => {
  const gone = await openRedisStores({ connection: { url: `redis://127.0.0.1:${await freePort()}` }, timing: FAST, connectWaitMs: 50, log: recordingLog() })
  const waiting = gone.audit.subscribe(() => {})
  await gone.close()
  waiting()

  const redis = await server(t, [])
  const hung = await openRedisStores({ connection: { url: redis.url }, namespace: freshNamespace(), timing: FAST })
  process.kill(redis.pid(), 'SIGSTOP')
  await hung.close()
  process.kill(redis.pid(), 'SIGCONT')
  t.equal(await hung.ping(), false)
})

t.test('reports a remote batch it cannot read and goes on delivering', async (t) => {
  const redis = await server(t, [])
  const namespace = freshNamespace()
  const log = recordingLog()
  const stores = await openTestStores(t, { url: redis.url }, { namespace, log })
  const other = await openTestStores(t, { url: redis.url }, { namespace })
  const heard: AuditRecord[][] = []
  t.teardown(stores.audit.subscribe((records) => heard.push(records)))
  const keys = new RedisKeys(namespace)
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  await raw.set(keys.auditStream('broken'), 'not a stream')
  await raw.publish(keys.auditChannel(), JSON.stringify({ o: 'elsewhere', t: 'broken', f: '1-1', l: '2-1' }))
  const records = await other.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  await eventually('heard.length === 1', () => heard.length === 1)
  t.same(heard, [records])
  t.ok(log.lines.some((line) => line.endsWith('could not read audit records another replica committed')))
})

t.test('logs the channels its Redis user may not follow, and keeps working', async (t) => {
  const redis = await server(t, [])
  const namespace = freshNamespace()
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  await raw.acl('SETUSER', 'gateway', 'on', '>s3cret:/@', '~*', '&*', '+@all', '-subscribe')
  const log = recordingLog()
  const stores = await openTestStores(t, { url: `redis://gateway:${encodeURIComponent('s3cret:/@')}@127.0.0.1:${redis.port}/0` }, { namespace, log })
  t.ok(log.lines.some((line) => line.startsWith('warn undefined: could not subscribe to grant events')))
  t.teardown(stores.audit.subscribe(() => {}))
  await eventually('the log line "warn undefined: could not subscribe the audit record channel"', () => log.lines.includes('warn undefined: could not subscribe the audit record channel'))
  await storeRequest(stores, newRequest())
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 1 })
})

t.test('warns when Redis comes back without records it had acknowledged', async (t) => {
  const redis = await server(t, [])
  const log = recordingLog()
  const stores = await openTestStores(t, { url: redis.url }, { timing: FAST, log })
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed'), draft('ContentAccessed')] })
  await redis.kill()
  await redis.start()
  await eventually('stores.ping()', async () => await stores.ping())
  const [record] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }) as [AuditRecord]
  t.equal(record.seq, 1, 'the chain goes on from what Redis has')
  t.ok(log.lines.includes('warn undefined: the audit chain went back: Redis lost acknowledged records'))
})
