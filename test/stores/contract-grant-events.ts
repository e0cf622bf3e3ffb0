// Grant events (Change.grantEvents): the workflow decides what a change implies for cached grants; a
// store publishes exactly the events a change carries once it is durable, derives none of its own,
// and publishes nothing of a change it refuses. The enforcement invariant rests on what is stored,
// never on events.
import type { LockboxRequest } from '../../src/domain/lockbox.js'
import { ConflictError, GrantEndedError } from '../../src/errors.js'
import type { GrantEvent, Stores } from '../../src/stores/types.js'
import { advance, draft, MINUTE, newRequest, next, openFor, storeRequest, T0, type OpenStores, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'

const APPROVED_AT = T0 + 2 * MINUTE

async function approved (stores: Stores, tenantId = 'contoso'): Promise<LockboxRequest> {
  const created = await storeRequest(stores, newRequest({ tenantId }))
  return await advance(stores, await advance(stores, created, 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', APPROVED_AT)
}

function heard (t: Test, stores: Stores): GrantEvent[] {
  const events: GrantEvent[] = []
  t.teardown(stores.grantEvents.subscribe((event) => events.push(event)))
  return events
}

export function grantEventsContract (t: Test, open: OpenStores): void {
  t.test('publishes exactly the grant events a change carries, by the time its commit resolves', async (t) => {
    const stores = await openFor(t, open)
    const request = await approved(stores)
    const other = await approved(stores)
    const events = heard(t, stores)
    const revoke = next(request, 'Revoke', APPROVED_AT + MINUTE)
    const cancel = next(other, 'Cancel', APPROVED_AT + MINUTE, { id: 'eng-1', role: 'SupportEngineer' })
    const carried: GrantEvent[] = [
      { requestId: request.id, tenantId: 'contoso', status: 'Revoked' },
      { requestId: other.id, tenantId: 'contoso', status: 'Completed' }
    ]
    await stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: revoke.request, expectedVersion: request.version }, { value: cancel.request, expectedVersion: other.version }],
      audit: [draft(revoke.operation, { requestId: request.id }), draft(cancel.operation, { requestId: other.id })],
      grantEvents: carried
    })
    t.same(events, carried, 'both, in the order the change lists them, heard in this process before the commit resolved')

    // Carried as they are, whatever the change writes: the store judges no transition.
    const stray: GrantEvent = { requestId: 'no-such-request', tenantId: 'fabrikam', status: 'Revoked' }
    await stores.lockbox.commit({ tenantId: 'fabrikam', audit: [draft('ContentAccessCompleted', { tenantId: 'fabrikam' })], grantEvents: [stray] })
    await stores.lockbox.commit({ tenantId: 'fabrikam', audit: [], grantEvents: [{ ...stray, requestId: 'no-such-request-2' }] })
    t.same(events.slice(2), [stray, { ...stray, requestId: 'no-such-request-2' }], 'a change with no entities, or with nothing at all, still publishes what it carries')
  })

  t.test('derives no grant event of its own from what a change writes', async (t) => {
    const stores = await openFor(t, open)
    const request = await approved(stores)
    const events = heard(t, stores)
    const revoke = next(request, 'Revoke', APPROVED_AT + MINUTE)
    await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revoke.request, expectedVersion: request.version }], audit: [draft(revoke.operation, { requestId: request.id })] })
    t.match(await stores.lockbox.getRequest(request.id), { status: 'Revoked' })
    // A marker committed afterwards: once it is heard, anything the revoke published would have been.
    const marker: GrantEvent = { requestId: 'marker', tenantId: 'contoso', status: 'Revoked' }
    await stores.lockbox.commit({ tenantId: 'contoso', audit: [], grantEvents: [marker] })
    t.same(events, [marker], 'the revoke carried no event, so none was published for it')
  })

  t.test('publishes nothing of a change it refuses', async (t) => {
    const stores = await openFor(t, open)
    const live = await approved(stores)
    const revoked = await advance(stores, await approved(stores), 'Revoke', APPROVED_AT + MINUTE)
    const events = heard(t, stores)
    const event = (requestId: string, status: GrantEvent['status'] = 'Revoked'): GrantEvent => ({ requestId, tenantId: 'contoso', status })
    const revokeLive = next(live, 'Revoke', APPROVED_AT + MINUTE)

    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      requests: [{ value: revokeLive.request, expectedVersion: live.version - 1 }],
      audit: [draft(revokeLive.operation, { requestId: live.id })],
      grantEvents: [event(live.id)]
    }), ConflictError, 'a stale version')
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso',
      audit: [draft('ContentAccessed', { requestId: revoked.id })],
      requireApproved: { requestId: revoked.id, now: APPROVED_AT + 2 * MINUTE },
      grantEvents: [event('guarded')]
    }), GrantEndedError, 'an ended grant')
    await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [], grantEvents: [{ ...event('elsewhere'), tenantId: 'fabrikam' }] }),
      'a grant event of another tenant')
    // Handed in together, so that a backend with group commit puts them in one batch: only the
    // changes that commit publish.
    const outcomes = await Promise.allSettled([
      stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: revoked.id })], requireApproved: { requestId: revoked.id, now: APPROVED_AT + 2 * MINUTE }, grantEvents: [event('refused-1')] }),
      stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revokeLive.request, expectedVersion: live.version }], audit: [draft(revokeLive.operation, { requestId: live.id })], grantEvents: [event(live.id)] }),
      stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revokeLive.request, expectedVersion: live.version }], audit: [draft(revokeLive.operation, { requestId: live.id })], grantEvents: [event('refused-2')] }),
      stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: live.id })], requireApproved: { requestId: live.id, now: APPROVED_AT + 2 * MINUTE }, grantEvents: [event('refused-3')] })
    ])
    t.same(outcomes.map((outcome) => outcome.status), ['rejected', 'fulfilled', 'rejected', 'rejected'], 'the revoke wins; the guarded access after it sees it')
    const marker = event('marker')
    await stores.lockbox.commit({ tenantId: 'contoso', audit: [], grantEvents: [marker] })
    t.same(events, [event(live.id), marker], 'only the committed revoke was published, then the marker')
  })

  t.test('enforces the grant on what is stored, not on the grant events changes carried', async (t) => {
    const stores = await openFor(t, open)
    const live = await approved(stores)
    await stores.lockbox.commit({ tenantId: 'contoso', audit: [], grantEvents: [{ requestId: live.id, tenantId: 'contoso', status: 'Revoked' }] })
    const records = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: live.id })], requireApproved: { requestId: live.id, now: APPROVED_AT + 1 } })
    t.equal(records.length, 1, 'a stray event ends no stored grant')
    const revoke = next(live, 'Revoke', APPROVED_AT + MINUTE)
    await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revoke.request, expectedVersion: live.version }], audit: [draft(revoke.operation, { requestId: live.id })] })
    await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: live.id })], requireApproved: { requestId: live.id, now: APPROVED_AT + MINUTE + 1 } }),
      GrantEndedError, 'a revoke that carried no event still ends the grant')
  })
}

/** Two stores on one backend: two replicas on one Redis, two processes on one data dir. Both close when the test ends. */
export type OpenPair = (t: Test) => Promise<[Stores, Stores]>

/**
 * What another replica or process hears: each committed change's grant events once, even when its
 * commit had to be sent again (the chain moved under it), and nothing of a refused change.
 */
export function sharedGrantEventsContract (t: Test, pair: OpenPair): void {
  t.test('publishes a change\'s grant events to the others sharing the backend once it commits, and a refused change\'s never', async (t) => {
    const [a, b] = await pair(t)
    const onA = heard(t, a)
    const onB = heard(t, b)
    const live = await approved(a)
    const event = (requestId: string): GrantEvent => ({ requestId, tenantId: 'contoso', status: 'Revoked' })
    const revoke = next(live, 'Revoke', APPROVED_AT + MINUTE)
    const revokeChange = { tenantId: 'contoso', requests: [{ value: revoke.request, expectedVersion: live.version }], audit: [draft(revoke.operation, { requestId: live.id })] }

    await t.rejects(a.lockbox.commit({ ...revokeChange, requests: [{ value: revoke.request, expectedVersion: live.version + 1 }], grantEvents: [event('stale')] }), ConflictError)
    await t.rejects(a.lockbox.commit({
      tenantId: 'contoso',
      audit: [draft('ContentAccessed', { requestId: 'no-such-request' })],
      requireApproved: { requestId: 'no-such-request', now: APPROVED_AT + MINUTE },
      grantEvents: [event('guarded')]
    }), GrantEndedError)
    // The other one appends meanwhile: the revoke's first attempt finds the chain moved and is sealed again.
    await b.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: live.id })] })
    await a.lockbox.commit({ ...revokeChange, grantEvents: [event(live.id)] })
    const marker = event('marker')
    await a.lockbox.commit({ tenantId: 'contoso', audit: [], grantEvents: [marker] })
    await eventually('the marker reached the other store', () => onB.some((heardEvent) => heardEvent.requestId === 'marker'))
    t.same(onB, [event(live.id), marker], 'the other heard the revoke once, then the marker, and nothing refused')
    t.same(onA, onB, 'the committing one heard them once too, not again from the other\'s channel')
  })
}
