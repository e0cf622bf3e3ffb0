// The hot path's view of which requests are approved: filled on demand from the store, emptied at
// once by grant events, and never trusted for longer than a short TTL, so a lost event cannot keep
// a revoked grant alive beyond it.
import { performance } from 'node:perf_hooks'
import type { LockboxRequest } from '../domain/lockbox.js'
import type { LockboxStore } from '../stores/types.js'

interface Entry { request: LockboxRequest | null, fetchedAt: number }

export class GrantCache {
  private readonly entries = new Map<string, Entry>()
  private readonly pending = new Map<string, Promise<LockboxRequest | null>>()
  readonly stats = { hits: 0, misses: 0, drops: 0 }

  constructor (private readonly store: LockboxStore, private readonly ttlMs = 1000, private readonly maxEntries = 50_000) {}

  /**
   * The stored request while its entry is fresh (null: the store holds no such request), else
   * undefined: the hot path's answer without a turn of the event loop.
   */
  cached (requestId: string): LockboxRequest | null | undefined {
    const entry = this.entries.get(requestId)
    if (entry === undefined || performance.now() - entry.fetchedAt >= this.ttlMs) return undefined
    this.stats.hits++
    return entry.request
  }

  /** The stored request, from memory while fresh. Rejects when the store cannot answer. */
  get (requestId: string): Promise<LockboxRequest | null> {
    const cached = this.cached(requestId)
    if (cached !== undefined) return Promise.resolve(cached)
    this.stats.misses++
    let fetching = this.pending.get(requestId)
    if (fetching === undefined) {
      // Concurrent misses for one grant share one store read.
      const startedAt = performance.now()
      fetching = this.store.getRequest(requestId).then((request) => {
        if (this.pending.get(requestId) === fetching) {
          if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
          this.entries.set(requestId, { request, fetchedAt: startedAt })
        }
        return request
      }).finally(() => {
        if (this.pending.get(requestId) === fetching) this.pending.delete(requestId)
      })
      this.pending.set(requestId, fetching)
    }
    return fetching
  }

  /** Forget a grant now: the next request reads the store. A read already under way is not cached. */
  drop (requestId: string): void {
    this.stats.drops++
    this.entries.delete(requestId)
    this.pending.delete(requestId)
  }
}
