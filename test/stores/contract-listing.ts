// The listing part of the store contract: service request numbers, newest-first pages, cursors.
import type { LockboxRequest } from '../../src/domain/lockbox.js'
import type { Stores } from '../../src/stores/types.js'
import { advance, allPages, HOUR, MINUTE, newRequest, newServiceRequest, openFor, storeRequest, T0, type OpenStores, type Test } from './contract-fixtures.js'

export function listingContract (t: Test, open: OpenStores): void {
  t.test('hands out unique service request numbers per tenant, past every committed one', async (t) => {
    const stores = await openFor(t, open)
    const numbers = await Promise.all(Array.from({ length: 20 }, () => stores.lockbox.nextServiceRequestNumber('contoso')))
    t.equal(new Set(numbers).size, 20)
    t.ok(numbers.every((number) => /^\d+$/.test(number)))
    const highest = Math.max(...numbers.map(Number))
    await stores.lockbox.commit({ tenantId: 'contoso', serviceRequests: [{ value: newServiceRequest(String(highest)), expectedVersion: 0 }], audit: [] })
    t.ok(Number(await stores.lockbox.nextServiceRequestNumber('contoso')) > highest)
    t.match(await stores.lockbox.nextServiceRequestNumber('fabrikam'), /^\d+$/)
  })

  t.test('lists service requests newest first, page by page, without gaps or repeats', async (t) => {
    const stores = await openFor(t, open)
    const numbers = ['100001', '100002', '100003', '100004', '100005', '100006', '100007']
    for (const [index, number] of numbers.entries()) {
      await stores.lockbox.commit({ tenantId: 'contoso', serviceRequests: [{ value: newServiceRequest(number, 'contoso', T0 + index * MINUTE), expectedVersion: 0 }], audit: [] })
    }
    await stores.lockbox.commit({ tenantId: 'fabrikam', serviceRequests: [{ value: newServiceRequest('100001', 'fabrikam'), expectedVersion: 0 }], audit: [] })
    const { items, pages } = await allPages((cursor) => stores.lockbox.listServiceRequests('contoso', { limit: 3, cursor }))
    t.same(items.map((sr) => sr.number), [...numbers].reverse())
    t.equal(pages, 3)
    const whole = await stores.lockbox.listServiceRequests('contoso', { limit: 7 })
    t.equal(whole.nextCursor, null, 'no cursor when the last page is exactly full')
    t.same(await stores.lockbox.listServiceRequests('nobody', { limit: 3 }), { items: [], nextCursor: null })
  })

  t.test('lists requests newest first, filtered by tenant, requester and effective status', async (t) => {
    const stores = await openFor(t, open)
    const now = T0 + HOUR
    // Committed out of creation order on purpose: the order is by createdAt.
    const d = await storeRequest(stores, newRequest({ at: T0 - 13 * HOUR }))
    const c = await storeRequest(stores, newRequest({ tenantId: 'fabrikam', at: T0 + 2 * MINUTE }))
    const a = await storeRequest(stores, newRequest({ at: T0 }))
    let e = await storeRequest(stores, newRequest({ requester: 'eng-2', at: T0 - 5 * HOUR }))
    e = await advance(stores, e, 'ManagerApprove', T0 - 5 * HOUR + MINUTE)
    e = await advance(stores, e, 'CustomerApprove', T0 - 5 * HOUR + 2 * MINUTE)
    let b = await storeRequest(stores, newRequest({ requester: 'eng-2', at: T0 + MINUTE }))
    b = await advance(stores, b, 'ManagerApprove', T0 + 2 * MINUTE)
    b = await advance(stores, b, 'CustomerApprove', T0 + 3 * MINUTE)
    const ids = async (query: Partial<Parameters<Stores['lockbox']['listRequests']>[0]>): Promise<string[]> =>
      (await stores.lockbox.listRequests({ now, limit: 50, ...query })).items.map((request) => request.id)

    t.same(await ids({}), [c.id, b.id, a.id, e.id, d.id])
    t.same(await ids({ tenantId: 'contoso' }), [b.id, a.id, e.id, d.id])
    t.same(await ids({ requesterId: 'eng-1' }), [c.id, a.id, d.id])
    t.same(await ids({ status: 'AwaitingManagerApproval' }), [c.id, a.id])
    t.same(await ids({ status: 'Expired' }), [d.id], 'past its deadline, though stored as awaiting')
    t.same(await ids({ status: 'Completed' }), [e.id], 'past its window, though stored as approved')
    t.same(await ids({ status: 'Approved' }), [b.id])
    t.same(await ids({ tenantId: 'contoso', requesterId: 'eng-1', status: 'AwaitingManagerApproval' }), [a.id])
    t.same(await ids({ tenantId: 'fabrikam', requesterId: 'eng-2' }), [])
    t.same(await ids({ tenantId: 'nobody' }), [])
    t.same(await stores.lockbox.getRequest(e.id), e, 'listing changes nothing stored')
  })

  t.test('pages through requests without gaps or repeats', async (t) => {
    const stores = await openFor(t, open)
    const created: LockboxRequest[] = []
    for (let index = 0; index < 9; index++) {
      created.push(await storeRequest(stores, newRequest({ tenantId: index % 3 === 0 ? 'fabrikam' : 'contoso', requester: `eng-${index % 2}`, at: T0 + index * MINUTE })))
    }
    const newestFirst = created.map((request) => request.id).reverse()
    const queries = [{}, { tenantId: 'contoso' }, { requesterId: 'eng-1' }, { tenantId: 'contoso', requesterId: 'eng-0', status: 'AwaitingManagerApproval' as const }]
    for (const query of queries) {
      const { items } = await allPages((cursor) => stores.lockbox.listRequests({ now: T0, limit: 2, cursor, ...query }))
      const expected = newestFirst.filter((id) => created.some((request) => request.id === id &&
        ('tenantId' in query ? request.tenantId === query.tenantId : true) &&
        ('requesterId' in query ? request.requester.id === query.requesterId : true)))
      t.same(items.map((request) => request.id), expected, JSON.stringify(query))
    }
    t.equal((await stores.lockbox.listRequests({ now: T0, limit: 9 })).nextCursor, null)
  })

  t.test('refuses a cursor it did not make with VALIDATION_FAILED', async (t) => {
    const stores = await openFor(t, open)
    await storeRequest(stores, newRequest())
    for (const cursor of ['not a cursor!', Buffer.from('x:1:2').toString('base64url')]) {
      await t.rejects(stores.lockbox.listRequests({ now: T0, limit: 5, cursor }), { code: 'VALIDATION_FAILED' })
      await t.rejects(stores.lockbox.listServiceRequests('contoso', { limit: 5, cursor }), { code: 'VALIDATION_FAILED' })
      await t.rejects(stores.audit.query({ limit: 5, cursor }), { code: 'VALIDATION_FAILED' })
    }
  })

  t.test('lists the requests of a service request, and the unsettled requests', async (t) => {
    const stores = await openFor(t, open)
    const first = await storeRequest(stores, newRequest({ serviceRequestNumber: '100001' }))
    const rejected = await advance(stores, await storeRequest(stores, newRequest({ serviceRequestNumber: '100001' })), 'ManagerReject', T0 + MINUTE)
    const other = await advance(stores, await storeRequest(stores, newRequest({ serviceRequestNumber: '100002' })), 'ManagerApprove', T0 + MINUTE)
    const foreign = await storeRequest(stores, newRequest({ tenantId: 'fabrikam', serviceRequestNumber: '100001' }))
    const sortedIds = (requests: LockboxRequest[]): string[] => requests.map((request) => request.id).sort()

    t.same(sortedIds(await stores.lockbox.listRequestsOfServiceRequest('contoso', '100001')), [first.id, rejected.id].sort())
    t.same(await stores.lockbox.listRequestsOfServiceRequest('contoso', '100009'), [])
    t.same(sortedIds(await stores.lockbox.listUnsettledRequests()), [first.id, other.id, foreign.id].sort())
    const unsettled = await stores.lockbox.listUnsettledRequests()
    t.same(unsettled.find((request) => request.id === other.id), other)
  })
}
