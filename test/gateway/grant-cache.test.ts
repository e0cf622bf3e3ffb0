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
  t.equal(cache.cached(req.id), undefined, 'nothing cached before the first read')
  t.equal((await cache.get(req.id))?.status, 'Approved')
  clock += 49
  t.equal(cache.cached(req.id)?.id, req.id, 'a fresh entry is answered synchronously')
  t.equal((await cache.get(req.id))?.id, req.id, 'and by get, without a read')
  clock += 1
  t.equal(cache.cached(req.id), undefined, 'an entry as old as the TTL is not answered')
  await cache.get(req.id)
  t.equal(reads(), 2, 'but read again')
  t.same(cache.stats, { hits: 2, misses: 2, drops: 0 })
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
  t.equal(cache.cached('no-such-request'), null)
  t.equal(await cache.get('no-such-request'), null)
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
  t.equal(cache.cached(req.id), undefined, 'dropped: read again')
  const reading = cache.get(req.id)
  cache.drop(req.id)
  await reading
  t.equal(cache.cached(req.id), undefined, 'a read under way when the drop came is not kept')
  const after = cache.get(req.id)
  cache.drop(req.id)
  const next = cache.get(req.id)
  t.not(next, after, 'nor shared with readers after the drop')
  await Promise.all([after, next])
  t.equal(cache.cached(req.id)?.id, req.id, 'the read that began after the drop is kept')
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
  t.equal(cache.cached(b.id)?.id, b.id)
  t.equal(cache.cached(a.id), undefined, 'the first entry made room')
})

t.test('rejects when the store cannot answer, and keeps nothing', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const cache = new GrantCache(h.app.stores.lockbox)
  await h.app.stores.close()
  await t.rejects(cache.get(req.id), { name: 'StoreUnavailableError' })
  t.equal(cache.cached(req.id), undefined, 'nothing was kept from the failed read')
  await t.rejects(cache.get(req.id))
})
