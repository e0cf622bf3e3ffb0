import t from 'tap'
import type { LockboxRequest } from '../../src/domain/lockbox.js'
import { InFlight, UNCHECKABLE, type Flight } from '../../src/gateway/in-flight.js'
import { eventually } from '../helpers/content.js'

function flight (windowEndsAt: number, cuts: string[]): Flight {
  return { windowEndsAt, cut: (reason) => { cuts.push(reason) } }
}

t.test('cuts every flight of a grant, and only those', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  const other: string[] = []
  registry.add('r1', flight(1000, cuts))
  registry.add('r1', flight(1000, cuts))
  const untrack = registry.add('r2', flight(1000, other))
  t.equal(registry.size, 3)
  t.equal(registry.cut('r1', 'Revoked'), 2)
  t.same(cuts, ['Revoked', 'Revoked'])
  t.same(other, [])
  t.equal(registry.size, 1)
  t.equal(registry.cut('r1', 'Revoked'), 0, 'nothing left to cut')
  t.equal(registry.cut('unknown', 'Revoked'), 0)
  untrack()
  t.equal(registry.size, 0)
})

t.test('forgets a flight that ends by itself', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  const first = registry.add('r1', flight(1000, cuts))
  registry.add('r1', flight(1000, cuts))
  first()
  first()
  t.equal(registry.size, 1)
  t.equal(registry.cut('r1', 'Canceled'), 1)
  first()
  t.equal(registry.size, 0)
  t.same(cuts, ['Canceled'])
})

t.test('cuts flights whose window has ended, on its own clock', async (t) => {
  let now = 0
  const registry = new InFlight(() => now, 5)
  const early: string[] = []
  const late: string[] = []
  registry.add('r1', flight(1000, early))
  registry.add('r2', flight(5000, late))
  now = 1000
  await eventually('the early window is cut', async () => early, (cuts) => cuts.length > 0)
  t.same(early, ['AccessWindowEnded'])
  t.same(late, [])
  t.equal(registry.size, 1)
  now = 5000
  await eventually('the late window is cut', async () => late, (cuts) => cuts.length > 0)
  t.equal(registry.size, 0)
  t.same(early, ['AccessWindowEnded'], 'each flight is cut once')
})

t.test('cuts everything at shutdown', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  registry.add('r1', flight(1000, cuts))
  registry.add('r2', flight(1000, cuts))
  registry.cutAll('Shutdown')
  t.same(cuts, ['Shutdown', 'Shutdown'])
  t.equal(registry.size, 0)
  registry.cutAll('Shutdown')
})

t.test('re-reads each grant in flight once per recheck and cuts those no longer Approved', async (t) => {
  const stored = new Map<string, LockboxRequest | null | Error>()
  const reads: string[] = []
  const failed: string[] = []
  const request = (status: LockboxRequest['status'], accessEndsAt = '2025-06-02T09:00:00.000Z'): LockboxRequest =>
    ({ status, accessEndsAt, decisionDeadline: null }) as unknown as LockboxRequest
  const registry = new InFlight(() => Date.parse('2025-06-02T08:30:00.000Z'), 60_000, {
    read: async (requestId) => {
      reads.push(requestId)
      const value = stored.get(requestId) as LockboxRequest | null | Error
      if (value instanceof Error) throw value
      return value
    },
    failed: (requestId) => { failed.push(requestId) }
  })
  const cuts: Record<string, string[]> = { live: [], revoked: [], over: [], gone: [], down: [] }
  for (const id of Object.keys(cuts)) {
    registry.add(id, flight(Number.POSITIVE_INFINITY, cuts[id] as string[]))
    registry.add(id, flight(Number.POSITIVE_INFINITY, cuts[id] as string[]))
  }
  stored.set('live', request('Approved'))
  stored.set('revoked', request('Revoked'))
  stored.set('over', request('Approved', '2025-06-02T08:29:59.999Z'))
  stored.set('gone', null)
  stored.set('down', new Error('store down'))
  await Promise.all([registry.recheck(), registry.recheck()])
  t.same(reads.sort(), ['down', 'gone', 'live', 'over', 'revoked'], 'one read per grant, however many transfers, and one recheck at a time')
  t.same(cuts, { live: [], revoked: ['Revoked', 'Revoked'], over: ['Completed', 'Completed'], gone: ['Unknown', 'Unknown'], down: [UNCHECKABLE, UNCHECKABLE] })
  t.same(failed, ['down'])
  t.equal(registry.size, 2)
  t.match(registry.stats, { rechecks: 1, reads: 5, recheckCuts: 8 })
  stored.set('live', request('Canceled'))
  registry.recheckNow()
  await eventually('the recheck started without waiting cuts', async () => cuts.live as string[], (live) => live.length === 2)
  await new InFlight(() => 0).recheck()
  t.pass('a registry without a store has nothing to recheck')
})

t.test('rechecks on its own while something is in flight', async (t) => {
  let status: LockboxRequest['status'] = 'Approved'
  let reads = 0
  const registry = new InFlight(() => 0, 5, {
    read: async () => {
      reads++
      return ({ status, accessEndsAt: null, decisionDeadline: null }) as unknown as LockboxRequest
    },
    everyMs: 20
  })
  const cuts: string[] = []
  registry.add('r1', flight(Number.POSITIVE_INFINITY, cuts))
  await eventually('a few rechecks ran', async () => reads, (count) => count >= 2)
  t.same(cuts, [])
  status = 'Revoked'
  await eventually('the revoked grant is cut without any event', async () => cuts, (list) => list.length === 1)
  t.same(cuts, ['Revoked'])
})

t.test('moves the window end of flights when a recheck reads an extended grant', async (t) => {
  let now = Date.parse('2025-06-02T08:59:00.000Z')
  const oldEnd = '2025-06-02T09:00:00.000Z'
  let accessEndsAt = oldEnd
  const registry = new InFlight(() => now, 5, {
    // r2 is never answered for: only its window end can cut it.
    read: async (requestId) => requestId === 'r1'
      ? ({ status: 'Approved', accessEndsAt, decisionDeadline: null }) as unknown as LockboxRequest
      : await new Promise<never>(() => {})
  })
  t.teardown(() => { registry.cutAll('Shutdown') })
  const cuts: string[] = []
  const streaming = flight(Date.parse(oldEnd), cuts)
  registry.add('r1', streaming)
  // The extension is approved while the transfer streams: the store holds the later end.
  accessEndsAt = '2025-06-02T10:00:00.000Z'
  await registry.recheck()
  t.equal(streaming.windowEndsAt, Date.parse(accessEndsAt), 'the window end is the extended one')
  // A sentinel on the old end: once it is cut, the same pass has looked at the extended transfer.
  const sentinel: string[] = []
  registry.add('r2', flight(Date.parse(oldEnd), sentinel))
  now = Date.parse('2025-06-02T09:30:00.000Z')
  await eventually('the old window end passed', async () => sentinel, (list) => list.length > 0)
  t.same(sentinel, ['AccessWindowEnded'])
  t.same(cuts, [], 'past the old end, the extended transfer streams on')
  t.equal(registry.size, 1)
})
