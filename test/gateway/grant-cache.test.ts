import t from 'tap'
import { performance } from 'node:perf_hooks'
import { GrantCache } from '../../src/gateway/grant-cache.js'
import type { LockboxStore } from '../../src/stores/types.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { approvedRequest } from '../helpers/workflow.js'

/** The app's real store, with its reads counted. */
function countingStore (h: TestApp): { store: LockboxStore, reads: () => number } {
  let reads = 0
  const real = h.app.stores.lockbox
  return {
    store: { ...real, getRequest: async (id) => { reads++; return await real.getRequest(id) } },
    reads: () => reads
  }
}

t.test('answers from memory while fresh, from the store after the TTL', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const { store, reads } = countingStore(h)
  // The cache ages its entries by the monotonic clock: held still here and moved by hand, so a busy
  // machine's slow store read cannot age an entry past its TTL between two lines.
  let clock = performance.now()
  t.capture(performance, 'now', () => clock)
  const cache = new GrantCache(store, 50)
  const first = cache.get(req.id)
  t.type(first, Promise)
  t.equal((await first)?.status, 'Approved')
  clock += 49
  const second = cache.get(req.id)
  t.notOk(second instanceof Promise, 'a fresh entry is answered synchronously')
  t.equal((second as { id: string }).id, req.id)
  clock += 1
  t.type(cache.get(req.id), Promise, 'an entry as old as the TTL is read again')
  t.equal(reads(), 2)
  t.same(cache.stats, { hits: 1, misses: 2, drops: 0 })
})

t.test('shares one store read among concurrent misses', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const { store, reads } = countingStore(h)
  const cache = new GrantCache(store)
  const results = await Promise.all([cache.get(req.id), cache.get(req.id), cache.get(req.id)])
  t.equal(reads(), 1)
  t.ok(results.every((r) => r?.id === req.id))
})

t.test('remembers that a request does not exist', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const { store, reads } = countingStore(h)
  const cache = new GrantCache(store)
  t.equal(await cache.get('no-such-request'), null)
  t.equal(cache.get('no-such-request'), null)
  t.equal(reads(), 1)
})

t.test('forgets a dropped grant, even one being read', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const { store, reads } = countingStore(h)
  const cache = new GrantCache(store)
  await cache.get(req.id)
  cache.drop(req.id)
  const reading = cache.get(req.id)
  t.type(reading, Promise, 'dropped: read again')
  cache.drop(req.id)
  await reading
  const after = cache.get(req.id)
  t.type(after, Promise, 'a read under way when the drop came is not kept')
  cache.drop(req.id)
  const next = cache.get(req.id)
  t.not(next, after, 'nor shared with readers after the drop')
  await Promise.all([after, next])
  t.notOk(cache.get(req.id) instanceof Promise, 'the read that began after the drop is kept')
  t.equal(reads(), 4)
  t.equal(cache.stats.drops, 3)
})

t.test('forgets the oldest entry when full', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const a = await approvedRequest(h)
  const b = await approvedRequest(h)
  const { store } = countingStore(h)
  const cache = new GrantCache(store, 1000, 1)
  await cache.get(a.id)
  await cache.get(b.id)
  t.notOk(cache.get(b.id) instanceof Promise)
  t.type(cache.get(a.id), Promise, 'the first entry made room')
})

t.test('rejects when the store cannot answer, and keeps nothing', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const cache = new GrantCache(h.app.stores.lockbox)
  await h.app.stores.close()
  await t.rejects(cache.get(req.id) as Promise<unknown>, { name: 'StoreUnavailableError' })
  const again = cache.get(req.id)
  t.type(again, Promise, 'nothing was kept from the failed read')
  await t.rejects(again as Promise<unknown>)
})
