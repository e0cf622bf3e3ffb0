// The notification outbox part of the store contract: messages written with the change that causes
// them, compare-and-set claims and outcomes, the due list the delivery worker polls, and listings.
import type { AuditRecord } from '../../src/domain/audit.js'
import { ConflictError } from '../../src/errors.js'
import type { OutboxMessage } from '../../src/notify/types.js'
import type { Stores } from '../../src/stores/types.js'
import { draft, MINUTE, newNotification, newRequest, openFor, T0, type OpenStores, type Test } from './contract-fixtures.js'

/** The message as stored after `puts` puts. */
const stored = (message: OutboxMessage, puts = 1): OutboxMessage => ({ ...message, version: puts })

/** Creates each message in a change of its own, without audit records: how a retry or a test seeds the outbox. */
async function create (stores: Stores, ...messages: OutboxMessage[]): Promise<void> {
  for (const message of messages) {
    await stores.lockbox.commit({ tenantId: message.tenantId, notifications: [{ value: message, expectedVersion: 0 }], audit: [] })
  }
}

/** Puts the next value of a stored message; resolves with it as stored. */
async function update (stores: Stores, message: OutboxMessage, changes: Partial<OutboxMessage>): Promise<OutboxMessage> {
  const value = { ...message, ...changes }
  await stores.lockbox.commit({ tenantId: message.tenantId, notifications: [{ value, expectedVersion: message.version }], audit: [] })
  return { ...value, version: message.version + 1 }
}

const ids = (messages: OutboxMessage[]): string[] => messages.map((message) => message.id)

export function notificationsContract (t: Test, open: OpenStores): void {
  t.test('writes notifications in the same change as the request and the records that cause them', async (t) => {
    const stores = await openFor(t, open)
    const request = newRequest()
    const email = newNotification({ requestId: request.id })
    const webhook = { ...newNotification({ requestId: request.id, at: T0 + 1 }), channel: 'webhook' as const, email: null, webhook: '{"type":"lockbox.request.created"}' }
    const [record] = await stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: request, expectedVersion: 0 }],
      notifications: [{ value: email, expectedVersion: 0 }, { value: webhook, expectedVersion: 0 }],
      audit: [draft('LockboxRequestCreated', { requestId: request.id })]
    }) as [AuditRecord]
    t.same(await stores.lockbox.listNotifications({ requestId: request.id, limit: 10 }), [stored(webhook), stored(email)], 'newest first, at version 1')
    t.same(await stores.lockbox.getRequest(request.id), { ...request, version: 1 })
    t.same((await stores.audit.query({ limit: 10 })).items, [record])

    const alone = newNotification({ requestId: null, at: T0 + 2 })
    t.same(await stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: alone, expectedVersion: 0 }], audit: [] }), [], 'a change of notifications alone seals no record')
    const withRecord = newNotification({ tenantId: 'fabrikam', at: T0 + 3 })
    const [reminded] = await stores.lockbox.commit({
      tenantId: 'fabrikam',
      notifications: [{ value: withRecord, expectedVersion: 0 }],
      audit: [draft('ApproversNotified', { tenantId: 'fabrikam', requestId: withRecord.requestId as string })]
    }) as [AuditRecord]
    t.match(reminded, { tenantId: 'fabrikam', seq: 1, operation: 'ApproversNotified' })
    t.same(await stores.lockbox.listNotifications({ limit: 10 }), [stored(withRecord), stored(alone), stored(webhook), stored(email)])
  })

  t.test('refuses a stale notification put with ConflictError and writes none of the change', async (t) => {
    const stores = await openFor(t, open)
    const message = newNotification()
    await create(stores, message)
    const request = newRequest()
    const headBefore = await stores.audit.head('contoso')
    const stale = [
      [{ value: { ...message, attempts: 9 }, expectedVersion: 0 }],
      [{ value: { ...message, attempts: 9 }, expectedVersion: 2 }],
      [{ value: newNotification(), expectedVersion: 1 }],
      [{ value: message, expectedVersion: 1 }, { value: message, expectedVersion: 1 }]
    ]
    for (const notifications of stale) {
      await t.rejects(stores.lockbox.commit({
        tenantId: 'contoso',
        requests: [{ value: request, expectedVersion: 0 }],
        notifications,
        audit: [draft('LockboxRequestCreated', { requestId: request.id })]
      }), ConflictError)
    }
    t.equal(await stores.lockbox.getRequest(request.id), null)
    t.same(await stores.audit.head('contoso'), headBefore)
    t.same(await stores.lockbox.listNotifications({ limit: 10 }), [stored(message)])
    t.same(await stores.lockbox.listDueNotifications(T0, 10), [stored(message)])
  })

  t.test('lets exactly one of racing claims of a notification win', async (t) => {
    const stores = await openFor(t, open)
    const message = stored(newNotification())
    await create(stores, message)
    const claims = await Promise.allSettled(Array.from({ length: 10 }, (_, index) =>
      update(stores, message, { leaseUntil: T0 + MINUTE + index })))
    const won = claims.filter((claim) => claim.status === 'fulfilled')
    t.equal(won.length, 1)
    t.ok(claims.every((claim) => claim.status === 'fulfilled' || claim.reason instanceof ConflictError))
    const [claimed] = await stores.lockbox.listNotifications({ limit: 5 }) as [OutboxMessage]
    t.same(claimed, (won[0] as PromiseFulfilledResult<OutboxMessage>).value)
    t.equal(claimed.version, 2)
    t.same(await stores.lockbox.listDueNotifications(T0 + MINUTE - 1, 10), [], 'a held lease keeps it from others')
    t.same(await stores.lockbox.listDueNotifications(T0 + MINUTE + 9, 10), [claimed], 'and lapses')
  })

  t.test('lists the pending notifications due at a time, soonest first, across tenants, up to a limit', async (t) => {
    const stores = await openFor(t, open)
    t.same(await stores.lockbox.listDueNotifications(T0, 10), [], 'nothing is due in an empty store')
    const at = (minutes: number): number => T0 + minutes * MINUTE
    const soon = newNotification({ nextAttemptAt: at(1) })
    const later = newNotification({ nextAttemptAt: at(3) })
    const future = newNotification({ nextAttemptAt: at(10) })
    const held = newNotification({ nextAttemptAt: at(0), leaseUntil: at(5) })
    const sent = newNotification({ status: 'sent' })
    const dead = newNotification({ status: 'dead' })
    const other = newNotification({ tenantId: 'fabrikam', nextAttemptAt: at(2) })
    const otherLater = newNotification({ tenantId: 'fabrikam', nextAttemptAt: at(4) })
    await create(stores, future, held, later, sent, soon, dead, otherLater, other)

    t.same(ids(await stores.lockbox.listDueNotifications(at(6), 10)), ids([soon, other, later, otherLater, held]))
    t.same(await stores.lockbox.listDueNotifications(at(6), 3), [soon, other, later].map((message) => stored(message)), 'the soonest, whole')
    t.same(ids(await stores.lockbox.listDueNotifications(at(3), 10)), ids([soon, other, later]), 'due exactly at its time')
    t.same(await stores.lockbox.listDueNotifications(at(0), 10), [], 'sent and dead ones are never due')
    t.same(ids(await stores.lockbox.listDueNotifications(at(60), 100)), ids([soon, other, later, otherLater, held, future]))

    // A delivery: claimed, then sent. A failed one: claimed, then due again later.
    const delivered = await update(stores, await update(stores, stored(soon), { leaseUntil: at(7) }), { status: 'sent', attempts: 1, leaseUntil: 0 })
    const failed = await update(stores, stored(other), { leaseUntil: at(7) })
    t.same(ids(await stores.lockbox.listDueNotifications(at(6), 10)), ids([later, otherLater, held]))
    await update(stores, failed, { attempts: 1, nextAttemptAt: at(8), lastError: 'connection refused', leaseUntil: 0 })
    t.same(ids(await stores.lockbox.listDueNotifications(at(8), 10)), ids([later, otherLater, held, other]))
    t.equal(delivered.version, 3)
    t.same(ids(await stores.lockbox.listDueNotifications(at(60), 100)), ids([later, otherLater, held, other, future]))
  })

  t.test('lists notifications newest first, of one status and of one request', async (t) => {
    const stores = await openFor(t, open)
    const request = 'r-listed'
    const messages = [
      newNotification({ requestId: request, at: T0 }),
      newNotification({ requestId: request, at: T0 + MINUTE, status: 'sent' }),
      newNotification({ tenantId: 'fabrikam', at: T0 + 2 * MINUTE, status: 'dead' }),
      newNotification({ requestId: null, at: T0 + 3 * MINUTE }),
      newNotification({ requestId: request, at: T0 + 4 * MINUTE, status: 'dead' }),
      newNotification({ requestId: `${request}-2`, at: T0 + 5 * MINUTE }),
      newNotification({ tenantId: 'fabrikam', requestId: 'r', at: T0 + 6 * MINUTE, status: 'sent' })
    ]
    await create(stores, ...messages)
    /** The messages as stored, by their place in the list above. */
    const at = (...places: number[]): OutboxMessage[] => places.map((place) => stored(messages[place] as OutboxMessage))
    const list = stores.lockbox.listNotifications
    t.same(await list({ limit: 10 }), at(6, 5, 4, 3, 2, 1, 0))
    t.same(await list({ limit: 2 }), at(6, 5))
    t.same(await list({ status: 'pending', limit: 10 }), at(5, 3, 0))
    t.same(await list({ status: 'dead', limit: 10 }), at(4, 2))
    t.same(await list({ status: 'sent', limit: 1 }), at(6))
    t.same(await list({ requestId: request, limit: 10 }), at(4, 1, 0), 'not of a request whose id starts or is started by the same')
    t.same(await list({ requestId: request, limit: 2 }), at(4, 1))
    t.same(await list({ requestId: request, status: 'pending', limit: 10 }), at(0))
    t.same(await list({ requestId: request, status: 'sent', limit: 1 }), at(1))
    t.same(await list({ requestId: 'nobody', limit: 10 }), [])

    const settled = await update(stores, at(0)[0] as OutboxMessage, { status: 'sent', attempts: 1 })
    t.same(await list({ status: 'pending', limit: 10 }), at(5, 3), 'it moves from one status to the other')
    t.same(await list({ status: 'sent', limit: 10 }), [...at(6, 1), settled])
    t.same(await list({ requestId: request, limit: 10 }), [...at(4, 1), settled])
  })

  t.test('applies two puts of one notification in one change in order', async (t) => {
    const stores = await openFor(t, open)
    const message = newNotification()
    const claimed = { ...message, leaseUntil: T0 + MINUTE }
    const sent = { ...claimed, status: 'sent' as const, attempts: 1, leaseUntil: 0 }
    await stores.lockbox.commit({
      tenantId: 'contoso',
      notifications: [{ value: message, expectedVersion: 0 }, { value: claimed, expectedVersion: 1 }, { value: sent, expectedVersion: 2 }],
      audit: []
    })
    t.same(await stores.lockbox.listNotifications({ limit: 5 }), [stored(sent, 3)])
    t.same(await stores.lockbox.listNotifications({ status: 'sent', limit: 5 }), [stored(sent, 3)])
    t.same(await stores.lockbox.listNotifications({ status: 'pending', limit: 5 }), [])
    t.same(await stores.lockbox.listDueNotifications(T0 + 2 * MINUTE, 5), [], 'the last put decides that it is not due')
  })

  t.test('keeps notifications of two tenants with the same id apart', async (t) => {
    const stores = await openFor(t, open)
    const mine = newNotification()
    const theirs = { ...newNotification({ tenantId: 'fabrikam', at: T0 + MINUTE }), id: mine.id }
    await create(stores, mine, theirs)
    await update(stores, stored(theirs), { status: 'dead' })
    t.same(await stores.lockbox.listDueNotifications(T0 + MINUTE, 5), [stored(mine)])
    t.same(await stores.lockbox.listNotifications({ status: 'dead', limit: 5 }), [{ ...theirs, status: 'dead', version: 2 }])
  })

  t.test('refuses a notification of another tenant in a change and writes nothing', async (t) => {
    const stores = await openFor(t, open)
    const request = newRequest()
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: request, expectedVersion: 0 }],
      notifications: [{ value: newNotification({ tenantId: 'fabrikam' }), expectedVersion: 0 }],
      audit: [draft('LockboxRequestCreated', { requestId: request.id })]
    }), { message: /touches tenant fabrikam/ })
    t.equal(await stores.lockbox.getRequest(request.id), null)
    t.same(await stores.lockbox.listNotifications({ limit: 5 }), [])
  })
}
