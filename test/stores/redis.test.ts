import t from 'tap'
import { Redis } from 'ioredis'
import type { AuditRecord } from '../../src/domain/audit.js'
import { effectiveStatus, type LockboxRequest } from '../../src/domain/lockbox.js'
import { ConflictError } from '../../src/errors.js'
import { openRedisStores } from '../../src/stores/redis/index.js'
import { RedisKeys } from '../../src/stores/redis/keys.js'
import { Registry } from '../../src/stores/redis/registry.js'
import type { GrantEvent, Stores } from '../../src/stores/types.js'
import { sweepOnce } from '../../src/workflow/sweeper.js'
import { freshNamespace, openTestStores, redisForTests, removeNamespace } from '../helpers/redis.js'
import { storeContract } from './contract.js'
import { sharedGrantEventsContract } from './contract-grant-events.js'
import { advance, draft, HOUR, MINUTE, newRequest, next, PENDING_TTL, storeRequest, T0, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'
import { relyingPartyOf } from '../../src/passkeys/webauthn.js'

const url = await redisForTests(t)
const connection = { url }
const namespaces: string[] = []
t.teardown(async () => { for (const namespace of namespaces) await removeNamespace(connection, namespace) })

t.test('passes the store contract', async (t) => {
  storeContract(t, async () => {
    const namespace = freshNamespace()
    namespaces.push(namespace)
    return await openRedisStores({ connection, namespace })
  })
})

/** Two stores on one namespace: two replicas of the gateway. */
async function replicas (t: Test, now?: () => number): Promise<[Stores, Stores]> {
  const namespace = freshNamespace()
  return [await openTestStores(t, connection, { namespace, now }), await openTestStores(t, connection, { namespace, now })]
}

const approve = async (stores: Stores, request: LockboxRequest): Promise<LockboxRequest> =>
  await advance(stores, await advance(stores, request, 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)

t.test('shares requests, records and grant events between replicas', async (t) => {
  const [a, b] = await replicas(t)
  const onA: GrantEvent[] = []
  const onB: GrantEvent[] = []
  t.teardown(a.grantEvents.subscribe((event) => onA.push(event)))
  t.teardown(b.grantEvents.subscribe((event) => onB.push(event)))
  const created = await storeRequest(a, newRequest())
  t.same(await b.lockbox.getRequest(created.id), created, 'created on one, read on the other')
  const approved = await approve(b, created)
  t.same(await a.lockbox.getRequest(created.id), approved)
  await advance(a, approved, 'Revoke', T0 + 3 * MINUTE)
  await eventually('onB.length === 1', () => onB.length === 1)
  t.same(onA, [{ requestId: created.id, tenantId: 'contoso', status: 'Revoked' }], 'the committing replica hears it once, not again from Redis')
  t.same(onB, onA, 'the other replica hears it through Redis')

  await b.grantEvents.publish({ requestId: 'r-9', tenantId: 'fabrikam', status: 'Canceled' })
  await eventually('onA.length === 2 && onB.length === 2', () => onA.length === 2 && onB.length === 2)
  t.same(onA[1], { requestId: 'r-9', tenantId: 'fabrikam', status: 'Canceled' })
  t.same(onB[1], onA[1])
  t.same((await b.audit.query({ requestId: created.id, limit: 10 })).items.map((record) => record.operation),
    ['LockboxRequestCreated', 'LockboxRequestManagerApproved', 'LockboxRequestApproved', 'LockboxAccessRevoked'])
})

sharedGrantEventsContract(t, async (t) => await replicas(t))

t.test('feeds the other replica\'s live stream with each batch once, and only while someone listens', async (t) => {
  const [a, b] = await replicas(t)
  const heard: AuditRecord[][] = []
  const unsubscribe = b.audit.subscribe((records) => heard.push(records))
  const first = await a.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed'), draft('ContentAccessCompleted')] })
  const second = await a.lockbox.commit({ tenantId: 'fabrikam', audit: [draft('ContentAccessed', { tenantId: 'fabrikam' })] })
  await eventually('heard.length === 2', () => heard.length === 2)
  t.same(heard, [first, second])
  // A second listener sees a marker committed after the batch under test: once it has, that batch
  // would have reached the first listener too.
  const seen: AuditRecord[] = []
  t.teardown(b.audit.subscribe((records) => seen.push(...records)))
  unsubscribe()
  unsubscribe()
  await a.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  const [marker] = await a.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessCompleted')] }) as [AuditRecord]
  await eventually('the marker on the other replica', () => seen.some((record) => record.id === marker.id))
  t.equal(heard.length, 2, 'nothing after unsubscribing')
})

t.test('lets exactly one of 40 commits racing across two replicas win, with one record', async (t) => {
  const [a, b] = await replicas(t)
  const request = await storeRequest(a, newRequest())
  const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, index) =>
    advance(index % 2 === 0 ? a : b, request, 'ManagerApprove', T0 + MINUTE, { id: `mgr-${index}`, role: 'SupportManager' })))
  t.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1)
  t.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || outcome.reason instanceof ConflictError))
  t.same((await b.audit.query({ requestId: request.id, limit: 100 })).items.map((record) => record.operation), ['LockboxRequestCreated', 'LockboxRequestManagerApproved'])
})

t.test('keeps one whole chain per tenant while two replicas append to it at once', async (t) => {
  const [a, b] = await replicas(t)
  // Each replica's first commit seals on a head the other has already moved.
  await a.audit.head('contoso')
  await Promise.all(Array.from({ length: 300 }, (_, index) => (index % 2 === 0 ? a : b).lockbox.commit({
    tenantId: 'contoso',
    audit: Array.from({ length: 1 + (index % 3) }, () => draft('ContentAccessed'))
  })))
  t.match(await b.audit.verify('contoso'), { valid: true, records: 600, headSeq: 600 })
  const times = (await a.audit.query({ limit: 1000 })).items.map((record) => Date.parse(record.time))
  t.ok(times.every((time, index) => index === 0 || time >= (times[index - 1] as number)), 'time never goes backwards within the tenant')
  const stats = (a as Stores & { stats: { retries: number } }).stats.retries + (b as Stores & { stats: { retries: number } }).stats.retries
  t.ok(stats > 0, `${stats} calls were sealed again on a head the other replica had moved`)
})

t.test('batches concurrent commits of one tenant into few script calls', async (t) => {
  const stores = await openTestStores(t, connection)
  await Promise.all(Array.from({ length: 200 }, (_, index) => stores.lockbox.commit({ tenantId: index % 2 === 0 ? 'contoso' : 'fabrikam', audit: [draft('ContentAccessed', { tenantId: index % 2 === 0 ? 'contoso' : 'fabrikam' })] })))
  t.equal(stores.stats.changes, 200)
  t.ok(stores.stats.calls < 50, `${stores.stats.calls} calls for 200 commits`)
  t.same(stores.batching(), { batches: stores.stats.calls, commits: 200 }, 'the counts the metrics read')
  await Promise.all(Array.from({ length: 3 }, () => stores.lockbox.commit({ tenantId: 'contoso', audit: Array.from({ length: 600 }, () => draft('ContentAccessed', { requestId: 'r-many' })) })))
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 1900 }, 'large commits are split across calls, never torn')
  const [rare] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessDenied', { requestId: 'r-many' })] })
  t.same((await stores.audit.query({ operations: ['ContentAccessDenied'], limit: 5 })).items, [rare], 'a rare record is found across a long scan')
  t.same((await stores.audit.query({ requestId: 'r-many', operations: ['ContentAccessDenied'], limit: 5 })).items, [rare], 'and across a long request index')
  const seqs: number[] = []
  for await (const record of stores.audit.export({ tenantId: 'contoso' })) seqs.push(record.seq)
  t.same(seqs, Array.from({ length: 1901 }, (_, index) => index + 1), 'a long export, in order')
})

t.test('writes one Expired record when the sweepers of two replicas race', async (t) => {
  let clock = T0
  const [a, b] = await replicas(t, () => clock)
  const pending = await storeRequest(a, newRequest())
  const approved = await approve(a, await storeRequest(a, newRequest({ requester: 'eng-2' })))
  clock = T0 + PENDING_TTL + HOUR
  const contoso = { id: 'contoso', displayName: 'Contoso', lockboxEnabled: true, approverEmails: ['it@contoso.com'], requireSignedApprovals: false }
  const tenants = { get: async () => contoso, getVersioned: async () => null, ids: () => [] }
  const context = (stores: Stores): Parameters<typeof sweepOnce>[0] => ({
    stores, tenants, pendingTtlMs: PENDING_TTL, maxAccessMs: 4 * HOUR, now: () => clock, notices: { publicUrl: 'http://127.0.0.1', webhook: true }, relyingParty: relyingPartyOf('http://127.0.0.1'), notificationsQueued: () => {}
  })
  const written = await Promise.all([sweepOnce(context(a)), sweepOnce(context(b))])
  t.equal(written[0] + written[1], 2, 'each transition written by one replica')
  t.same((await a.lockbox.listUnsettledRequests()), [])
  for (const [request, operation] of [[pending, 'LockboxRequestExpired'], [approved, 'LockboxAccessCompleted']] as const) {
    const records = (await b.audit.query({ requestId: request.id, operations: [operation], limit: 10 })).items
    t.equal(records.length, 1, operation)
    t.equal(effectiveStatus((await b.lockbox.getRequest(request.id)) as LockboxRequest, clock), operation === 'LockboxRequestExpired' ? 'Expired' : 'Completed')
  }
  t.same((await b.lockbox.listNotifications({ requestId: pending.id, limit: 10 })).map((message) => message.kind), ['RequestDecided'], 'and one notice of the expiry')
})

t.test('refuses to create a request whose id another tenant holds', async (t) => {
  const stores = await openTestStores(t, connection)
  const request = await storeRequest(stores, newRequest())
  await t.rejects(storeRequest(stores, { ...newRequest({ tenantId: 'fabrikam' }), id: request.id }), ConflictError)
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { tenantId: 'fabrikam' })] }),
    { name: 'Error', message: /touches tenant fabrikam/ }, 'a change across tenants is a bug, not an outage')
  t.same(await stores.lockbox.getRequest(request.id), request)
})

t.test('passes over index entries whose commit never happened', async (t) => {
  const stores = await openTestStores(t, connection)
  const [kept, ghost] = [newRequest({ at: T0 }), newRequest({ at: T0 + MINUTE })]
  await storeRequest(stores, kept)
  // The create registers the request across tenants first; the change's stale settings then fail it.
  await t.rejects(stores.lockbox.commit({
    tenantId: 'contoso',
    requests: [{ value: ghost, expectedVersion: 0 }],
    tenantSettings: { value: { tenantId: 'contoso', lockboxEnabled: true, approverEmails: [], version: 0 }, expectedVersion: 7 },
    audit: []
  }), ConflictError)
  const stale = { ...ghost, id: 'ghost-1' }
  const racing = await Promise.allSettled([0, 0].map(() => stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: stale, expectedVersion: 0 }], audit: [] })))
  t.same(racing.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected'])
  t.same((await stores.lockbox.listRequests({ now: T0, limit: 1 })).items.map((request) => request.id), ['ghost-1'])
  t.same((await stores.lockbox.listRequests({ now: T0, limit: 5 })).items.map((request) => request.id), ['ghost-1', kept.id])
  t.equal(await stores.lockbox.getRequest(ghost.id), null)
})

t.test('ignores messages on its channels that it did not write', async (t) => {
  const namespace = freshNamespace()
  const stores = await openTestStores(t, connection, { namespace })
  const events: GrantEvent[] = []
  const records: AuditRecord[][] = []
  t.teardown(stores.grantEvents.subscribe((event) => events.push(event)))
  t.teardown(stores.audit.subscribe((batch) => records.push(batch)))
  const keys = new RedisKeys(namespace)
  const raw = new Redis(url)
  t.teardown(() => raw.disconnect())
  for (const message of ['not json', 'null', '7', '{"o":"x"}', '{"o":"x","e":{"requestId":1}}']) await raw.publish(keys.grantChannel(), message)
  for (const message of ['not json', '{"o":"x","t":"contoso"}', '{"o":"x","t":"contoso","f":"1-1","l":"2-2"}']) await raw.publish(keys.auditChannel(), message)
  await raw.publish(keys.grantChannel(), JSON.stringify({ o: 'x', e: { requestId: 'r-1', tenantId: 'contoso', status: 'Revoked' } }))
  await eventually('events.length === 1', () => events.length === 1)
  t.same(events, [{ requestId: 'r-1', tenantId: 'contoso', status: 'Revoked' }])
  t.same(records, [], 'a range with no records delivers nothing')
})

t.test('applies two puts of one entity in one change in order, the last deciding what is left to sweep', async (t) => {
  const stores = await openTestStores(t, connection)
  const events: GrantEvent[] = []
  t.teardown(stores.grantEvents.subscribe((event) => events.push(event)))
  const request = newRequest()
  const managed = next({ ...request, version: 1 }, 'ManagerApprove', T0 + MINUTE).request
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: request, expectedVersion: 0 }, { value: managed, expectedVersion: 1 }], audit: [] })
  t.match(await stores.lockbox.getRequest(request.id), { version: 2, status: 'AwaitingCustomerApproval' })
  const other = newRequest()
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: other, expectedVersion: 0 }, { value: other, expectedVersion: 0 }], audit: [] }), ConflictError)
  t.equal(await stores.lockbox.getRequest(other.id), null)

  const approved = next({ ...managed, version: 2 }, 'CustomerApprove', T0 + 2 * MINUTE).request
  const revoked = next({ ...approved, version: 3 }, 'Revoke', T0 + 3 * MINUTE).request
  const left = { requestId: request.id, tenantId: 'contoso', status: 'Revoked' as const }
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: approved, expectedVersion: 2 }, { value: revoked, expectedVersion: 3 }], audit: [], grantEvents: [left] })
  t.same(events, [left], 'the event the change carries')
  t.same(await stores.lockbox.listUnsettledRequests(), [], 'the last put decides that nothing is left to sweep')
})

t.test('reads on past values that a filter refuses to fill a page', async (t) => {
  const stores = await openTestStores(t, connection)
  for (let index = 0; index < 40; index++) await storeRequest(stores, newRequest({ requester: index < 3 ? 'eng-old' : 'eng-1', at: T0 + index * MINUTE }))
  const page = await stores.lockbox.listRequests({ now: T0, requesterId: 'eng-old', limit: 2 })
  t.equal(page.items.length, 2)
  const rest = await stores.lockbox.listRequests({ now: T0, requesterId: 'eng-old', limit: 2, cursor: page.nextCursor as string })
  t.same(rest.items.map((request) => request.createdAt), [new Date(T0).toISOString()])
  t.equal(rest.nextCursor, null)
})

t.test('orders records of one millisecond by tenant, then seq, page after page', async (t) => {
  const stores = await openTestStores(t, connection, { now: () => T0 })
  for (const tenantId of ['fabrikam', 'contoso', 'fabrikam', 'contoso']) {
    await stores.lockbox.commit({ tenantId, audit: [draft('ContentAccessed', { tenantId }), draft('ContentAccessCompleted', { tenantId })] })
  }
  const expected = ['contoso:1', 'contoso:2', 'contoso:3', 'contoso:4', 'fabrikam:1', 'fabrikam:2', 'fabrikam:3', 'fabrikam:4']
  const seen: string[] = []
  let cursor: string | undefined
  do {
    const page = await stores.audit.query({ limit: 3, cursor })
    seen.push(...page.items.map((record) => `${record.tenantId}:${record.seq}`))
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  t.same(seen, expected)
  const first = await stores.audit.query({ limit: 3, from: T0 })
  t.same((await stores.audit.query({ limit: 3, from: T0, cursor: first.nextCursor as string })).items.map((record) => `${record.tenantId}:${record.seq}`), expected.slice(3, 6))
  t.same((await stores.audit.query({ limit: 3, from: T0 + 1, cursor: first.nextCursor as string })).items, [], 'a later from wins over the cursor')
  t.same((await stores.audit.query({ limit: 3, requestId: '' })).items, [])
  t.same((await stores.audit.query({ limit: 10, to: T0 })).items, [], 'nothing before the first millisecond')
  t.same((await stores.audit.query({ limit: 10, to: -5 })).items, [])
  t.equal((await stores.audit.query({ limit: 10, actorId: '' })).items.length, 0, 'an empty actor id is a filter, not no filter')
})

t.test('refuses only the stale changes of a batch and commits the rest of it, in order', async (t) => {
  const stores = await openTestStores(t, connection) as Stores & { stats: { calls: number, retries: number } }
  const request = await storeRequest(stores, newRequest())
  const callsBefore = stores.stats.calls
  // The first change goes alone; the 129 that arrive meanwhile wait, and go as 128 (one of them stale) and 1.
  const changes = Array.from({ length: 130 }, (_, n) => ({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { n } })] }))
  const stale = 60
  changes[stale] = { ...changes[stale] as typeof changes[number], requests: [{ value: request, expectedVersion: request.version + 5 }] } as typeof changes[number]
  const outcomes = await Promise.allSettled(changes.map(async (change) => await stores.lockbox.commit(change)))
  t.ok((outcomes[stale] as PromiseRejectedResult).reason instanceof ConflictError, 'the stale change is refused')
  t.ok(outcomes.every((outcome, n) => n === stale || outcome.status === 'fulfilled'), 'every other change is committed')
  t.equal(stores.stats.calls - callsBefore, 4, 'alone, the 128, the 127 left of them, the last one')
  t.equal(stores.stats.retries, 0)
  const { items } = await stores.audit.query({ tenantId: 'contoso', operations: ['ContentAccessed'], limit: 1000 })
  t.same(items.map((record) => record.details.n), changes.map((_, n) => n).filter((n) => n !== stale), 'in the order committed')
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 1 + 129 })
})

t.test('gives up with StoreUnavailableError on a head it can never match', async (t) => {
  const namespace = freshNamespace()
  const stores = await openTestStores(t, connection, { namespace })
  const raw = new Redis(url)
  t.teardown(() => raw.disconnect())
  await raw.hset(new RedisKeys(namespace).auditHead('contoso'), 'seq', '05', 'hash', 'x'.repeat(64), 'ms', '0')
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }), { name: 'StoreUnavailableError', message: /kept moving/ })
  t.equal(stores.stats.calls, 16)
})

t.test('remembers which tenant a request belongs to, within a bound', async (t) => {
  const namespace = freshNamespace()
  const stores = await openTestStores(t, connection, { namespace })
  const requests = [await storeRequest(stores, newRequest()), await storeRequest(stores, newRequest({ tenantId: 'fabrikam' })), await storeRequest(stores, newRequest())]
  const client = new Redis(url)
  t.teardown(() => client.disconnect())
  const registry = new Registry(client, new RedisKeys(namespace), 2)
  for (const request of requests) t.equal(await registry.tenantOf(request.id), request.tenantId)
  t.equal(await registry.tenantOf('nobody'), null)
  t.same((await registry.tenants()).sort(), ['contoso', 'fabrikam'])
})

/** The ids of the pub/sub connections the server holds now. */
async function pubsubClients (admin: Redis): Promise<Set<string>> {
  const list = await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string
  return new Set(list.split('\n').map((line) => /\bid=(\d+)/.exec(line)?.[1]).filter((id): id is string => id !== undefined))
}

t.test('tells grant listeners when the subscription was renewed after its connection dropped', async (t) => {
  const admin = new Redis(url)
  t.teardown(() => { admin.disconnect() })
  const namespace = freshNamespace()
  const before = await pubsubClients(admin)
  const b = await openTestStores(t, connection, { namespace })
  const [subscriber] = [...await pubsubClients(admin)].filter((id) => !before.has(id))
  const a = await openTestStores(t, connection, { namespace })
  let renewals = 0
  t.teardown(b.grantEvents.resubscribed(() => { renewals++ }))
  const events: GrantEvent[] = []
  t.teardown(b.grantEvents.subscribe((event) => events.push(event)))
  t.equal(renewals, 0, 'not at the first connection')
  t.equal(await admin.call('CLIENT', 'KILL', 'ID', subscriber as string), 1)
  const lost: GrantEvent = { requestId: 'lost', tenantId: 'contoso', status: 'Revoked' }
  await a.grantEvents.publish(lost)
  await eventually('renewals === 1', () => renewals === 1)
  t.same(events, [], 'what was published while the connection was down is lost')
  const heard: GrantEvent = { requestId: 'heard', tenantId: 'contoso', status: 'Revoked' }
  await a.grantEvents.publish(heard)
  await eventually('events.length === 1', () => events.length === 1)
  t.same(events, [heard], 'the subscription is live again when the listeners are told')
})
