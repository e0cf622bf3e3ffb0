// The behaviour every store backend must show (src/stores/types.ts). Each backend's test file runs
// `storeContract(t, open)`, where `open` gives a fresh, empty store on every call.
import { EMPTY_HEAD, GENESIS_HASH, type AuditRecord } from '../../src/domain/audit.js'
import type { TenantSettings } from '../../src/domain/tenant.js'
import { ConflictError, StoreUnavailableError } from '../../src/errors.js'
import type { AuditQuery, GrantEvent } from '../../src/stores/types.js'
import { auditContract } from './contract-audit.js'
import { enforcementContract } from './contract-enforcement.js'
import { grantEventsContract } from './contract-grant-events.js'
import { listingContract } from './contract-listing.js'
import { notificationsContract } from './contract-notifications.js'
import { quorumContract } from './contract-quorum.js'
import { retentionContract } from './contract-retention.js'
import { siemCursorsContract } from './contract-siem.js'
import { passkeysContract } from './contract-passkeys.js'
import { advance, draft, MINUTE, newRequest, newServiceRequest, next, openFor, storeRequest, T0, type OpenStores, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'

export type { OpenStores, Test }

export function storeContract (t: Test, open: OpenStores): void {
  t.test('creates and reads back a request, a service request and tenant settings', async (t) => {
    const stores = await openFor(t, open)
    const serviceRequest = newServiceRequest('100001')
    const request = newRequest({ serviceRequestNumber: '100001' })
    const settings: TenantSettings = { tenantId: 'contoso', lockboxEnabled: false, approverEmails: ['it@contoso.com'], version: 0 }
    const records = await stores.lockbox.commit({
      tenantId: 'contoso',
      serviceRequests: [{ value: serviceRequest, expectedVersion: 0 }],
      requests: [{ value: request, expectedVersion: 0 }],
      tenantSettings: { value: settings, expectedVersion: 0 },
      audit: [draft('ServiceRequestOpened'), draft('LockboxRequestCreated', { requestId: request.id })]
    })
    t.same(await stores.lockbox.getRequest(request.id), { ...request, version: 1 })
    t.same(await stores.lockbox.getServiceRequest('contoso', '100001'), { ...serviceRequest, version: 1 })
    t.same(await stores.lockbox.getTenantSettings('contoso'), { ...settings, version: 1 })
    t.equal(await stores.lockbox.getRequest('no-such-request'), null)
    t.equal(await stores.lockbox.getServiceRequest('fabrikam', '100001'), null)
    t.equal(await stores.lockbox.getTenantSettings('fabrikam'), null)

    const [opened, created] = records as [AuditRecord, AuditRecord]
    t.match(opened, { tenantId: 'contoso', seq: 1, prevHash: GENESIS_HASH, operation: 'ServiceRequestOpened', result: 'Success', actor: { id: 'eng-1', type: 'SupportEngineer' } })
    t.match(created, { seq: 2, prevHash: opened.hash, operation: 'LockboxRequestCreated', requestId: request.id })
    t.not(opened.id, created.id)
    t.equal(new Date(opened.time).toISOString(), opened.time)
    t.same((await stores.audit.query({ limit: 10 })).items, records)
  })

  t.test('bumps the stored version on every update', async (t) => {
    const stores = await openFor(t, open)
    const created = await storeRequest(stores, newRequest())
    t.equal(created.version, 1)
    const approved = await advance(stores, created, 'ManagerApprove', T0 + MINUTE)
    t.equal(approved.version, 2)
    t.equal(approved.status, 'AwaitingCustomerApproval')
    t.equal((await advance(stores, approved, 'CustomerApprove', T0 + 2 * MINUTE)).version, 3)
  })

  t.test('refuses to create an entity twice with ConflictError and writes nothing', async (t) => {
    const stores = await openFor(t, open)
    const request = newRequest()
    const settings: TenantSettings = { tenantId: 'contoso', lockboxEnabled: true, approverEmails: [], version: 0 }
    await stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: request, expectedVersion: 0 }],
      serviceRequests: [{ value: newServiceRequest('100001'), expectedVersion: 0 }],
      tenantSettings: { value: settings, expectedVersion: 0 },
      audit: [draft('LockboxRequestCreated')]
    })
    const again = [
      { requests: [{ value: { ...request, justification: 'second' }, expectedVersion: 0 }] },
      { serviceRequests: [{ value: { ...newServiceRequest('100001'), title: 'second' }, expectedVersion: 0 }] },
      { tenantSettings: { value: { ...settings, lockboxEnabled: false }, expectedVersion: 0 } }
    ]
    for (const change of again) {
      await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', ...change, audit: [draft('TenantSettingsUpdated')] }), ConflictError)
    }
    t.equal((await stores.lockbox.getRequest(request.id))?.justification, request.justification)
    t.equal((await stores.lockbox.getServiceRequest('contoso', '100001'))?.title, 'Case 100001')
    t.equal((await stores.lockbox.getTenantSettings('contoso'))?.lockboxEnabled, true)
    t.same(await stores.audit.head('contoso'), { seq: 1, hash: (await stores.audit.query({ limit: 1 })).items[0]?.hash })
  })

  t.test('refuses a stale update with ConflictError and writes none of the change', async (t) => {
    const stores = await openFor(t, open)
    const first = await advance(stores, await storeRequest(stores, newRequest()), 'ManagerApprove', T0 + MINUTE)
    const second = await storeRequest(stores, newRequest({ requester: 'eng-2' }))
    const headBefore = await stores.audit.head('contoso')
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [
        { value: next(second, 'ManagerReject', T0 + MINUTE).request, expectedVersion: second.version },
        { value: first, expectedVersion: first.version - 1 }
      ],
      audit: [draft('LockboxRequestManagerRejected', { requestId: second.id })]
    }), ConflictError)
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: newRequest(), expectedVersion: 3 }],
      audit: []
    }), ConflictError, 'a missing entity is at version 0')
    t.same(await stores.lockbox.getRequest(second.id), second)
    t.same(await stores.lockbox.getRequest(first.id), first)
    t.same(await stores.audit.head('contoso'), headBefore)
  })

  t.test('lets exactly one of 40 racing commits win and writes exactly one record for it', async (t) => {
    const stores = await openFor(t, open)
    const request = await storeRequest(stores, newRequest())
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, index) =>
      advance(stores, request, 'ManagerApprove', T0 + MINUTE, { id: `mgr-${index}`, role: 'SupportManager' })))
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled')
    const lost = outcomes.filter((outcome) => outcome.status === 'rejected')
    t.equal(won.length, 1)
    t.equal(lost.length, 39)
    t.ok(lost.every((outcome) => outcome.reason instanceof ConflictError))
    t.equal((await stores.lockbox.getRequest(request.id))?.version, 2)
    const records = (await stores.audit.query({ requestId: request.id, limit: 100 })).items
    t.same(records.map((record) => record.operation), ['LockboxRequestCreated', 'LockboxRequestManagerApproved'])
  })

  t.test('refuses a change that reaches into another tenant and writes nothing', async (t) => {
    const stores = await openFor(t, open)
    const stranger = newRequest({ tenantId: 'fabrikam' })
    await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: stranger, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated')] }))
    await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('LockboxRequestCreated', { tenantId: 'fabrikam' })] }))
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      serviceRequests: [{ value: newServiceRequest('100001', 'fabrikam'), expectedVersion: 0 }],
      tenantSettings: { value: { tenantId: 'fabrikam', lockboxEnabled: true, approverEmails: [], version: 0 }, expectedVersion: 0 },
      audit: []
    }))
    t.equal(await stores.lockbox.getRequest(stranger.id), null)
    t.equal(await stores.lockbox.getServiceRequest('fabrikam', '100001'), null)
    t.same(await stores.audit.head('contoso'), EMPTY_HEAD)
    t.same(await stores.audit.head('fabrikam'), EMPTY_HEAD)
  })

  t.test('delivers published grant events to subscribers until they unsubscribe', async (t) => {
    const stores = await openFor(t, open)
    const early: GrantEvent[] = []
    const late: GrantEvent[] = []
    const unsubscribeEarly = stores.grantEvents.subscribe((event) => early.push(event))
    t.teardown(stores.grantEvents.subscribe((event) => late.push(event)))
    const first: GrantEvent = { requestId: 'r-1', tenantId: 'contoso', status: 'Revoked' }
    await stores.grantEvents.publish(first)
    await eventually('early.length === 1 && late.length === 1', () => early.length === 1 && late.length === 1)
    unsubscribeEarly()
    const second: GrantEvent = { requestId: 'r-2', tenantId: 'contoso', status: 'Canceled' }
    await stores.grantEvents.publish(second)
    await eventually('late.length === 2', () => late.length === 2)
    t.same(early, [first])
    t.same(late, [first, second])
  })

  t.test('keeps stored values apart from the objects callers hold', async (t) => {
    const stores = await openFor(t, open)
    const request = newRequest()
    const [record] = await stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: request, expectedVersion: 0 }],
      audit: [draft('LockboxRequestCreated', { details: { reason: 'original' } })]
    }) as [AuditRecord]
    const stored = structuredClone(await stores.lockbox.getRequest(request.id))
    const scribble = (value: Record<string, unknown>): void => {
      try {
        value.status = 'Denied'
        ;(value.history as unknown[]).push('scribble')
        ;(value.details as Record<string, unknown>).reason = 'changed'
      } catch {}
    }
    scribble(request as unknown as Record<string, unknown>)
    scribble((await stores.lockbox.getRequest(request.id)) as unknown as Record<string, unknown>)
    scribble(record as unknown as Record<string, unknown>)
    t.same(await stores.lockbox.getRequest(request.id), stored)
    t.same((await stores.audit.query({ limit: 1 })).items[0]?.details, { reason: 'original' })
  })

  listingContract(t, open)
  auditContract(t, open)
  enforcementContract(t, open)
  grantEventsContract(t, open)
  retentionContract(t, open)
  passkeysContract(t, open)
  notificationsContract(t, open)
  siemCursorsContract(t, open)
  quorumContract(t, open)

  t.test('refuses every call with StoreUnavailableError once closed, and ping turns false', async (t) => {
    const stores = await openFor(t, open)
    const request = await storeRequest(stores, newRequest())
    t.equal(await stores.ping(), true)
    await stores.close()
    t.equal(await stores.ping(), false)
    const query: AuditQuery = { limit: 5 }
    const calls: Array<() => Promise<unknown>> = [
      () => stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('LockboxRequestCreated')] }),
      () => stores.lockbox.getTenantSettings('contoso'),
      () => stores.lockbox.nextServiceRequestNumber('contoso'),
      () => stores.lockbox.getServiceRequest('contoso', '100001'),
      () => stores.lockbox.listServiceRequests('contoso', { limit: 5 }),
      () => stores.lockbox.getRequest(request.id),
      () => stores.lockbox.listRequests({ now: T0, limit: 5 }),
      () => stores.lockbox.listRequestsOfServiceRequest('contoso', '100001'),
      () => stores.lockbox.listUnsettledRequests(),
      () => stores.lockbox.listDueNotifications(T0, 5),
      () => stores.lockbox.listNotifications({ limit: 5 }),
      () => stores.audit.query(query),
      async () => { for await (const record of stores.audit.export({})) t.fail(`exported ${record.id}`) },
      async () => { for await (const chunk of stores.audit.exportNdjson({})) t.fail(`exported ${String(chunk)}`) },
      () => stores.audit.verify('contoso'),
      () => stores.audit.head('contoso'),
      () => stores.audit.prune(T0),
      () => stores.grantEvents.publish({ requestId: request.id, tenantId: 'contoso', status: 'Revoked' }),
      () => stores.siemCursors.get('hec', 'contoso'),
      () => stores.siemCursors.put({ sink: 'hec', tenantId: 'contoso', seq: 0, hash: GENESIS_HASH, time: null, owner: null, leaseUntil: 0 }, 0)
    ]
    for (const call of calls) await t.rejects(call(), StoreUnavailableError)
    await t.resolves(stores.close(), 'closing twice is harmless')
  })
}
