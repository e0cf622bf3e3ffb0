// The embedded store's group commit. Changes queue up while a write transaction commits; the next
// transaction takes the whole queue and applies it, so concurrent changes share one fsync and the
// per-transaction writes (chain heads, the log's end, its last time) happen once per batch. A
// change's records are sealed when it is submitted, onto the chain as this process expects it to be
// by then: that work overlaps the previous batch's fsync instead of holding the write lock. Inside the
// transaction each change is checked against the stored state as before (versions, the grant it
// requires) and its records are kept only if they continue the chain as it really is; otherwise (a
// change before it was refused, another process appended, a failed commit) they are sealed again
// there. So the chain stays gap-free whoever appends, and nothing is acknowledged before it is durable.
import type { AuditRecord, ChainHead, SealedRecord } from '../../domain/audit.js'
import { iso } from '../../domain/lockbox.js'
import type { Change, GrantEvent } from '../types.js'
import type { AuditLog } from './audit-log.js'
import type { Tables } from './db.js'
import type { Entities } from './entities.js'

/** What a committed change hands back. */
export interface Committed { records: AuditRecord[] }

/** Records sealed ahead of the transaction: onto `from`, at `time` (epoch ms). */
interface Presealed { from: ChainHead, time: number, sealed: SealedRecord[] }

interface Pending {
  change: Change
  presealed: Presealed | null
  resolve: (committed: Committed) => void
  reject: (error: unknown) => void
}

type Outcome = Committed | { refused: unknown }

export interface GroupCommitOptions {
  t: Tables
  entities: Entities
  log: AuditLog
  /** Epoch ms; record times never go backwards, whatever it says. */
  now: () => number
  /** Runs `work` in the next write transaction; resolves once it is durable. */
  transact: <T>(work: () => T) => Promise<T>
  /** Inside the transaction: a new entity's ordinal. */
  nextOrdinal: () => number
  /** Inside the transaction: notes the grant events a change carries, for the other processes. */
  logGrantEvents: (events: GrantEvent[]) => void
  /** Inside the transaction: the records a batch appends from `start` on; `forget` if it fails. */
  appended: { own: (start: number, records: AuditRecord[]) => void, forget: (start: number) => void }
  /** After a batch is durable, before its changes are acknowledged; `start` is its first position (-1: it appended nothing). */
  durable: (start: number) => void
}

export interface GroupCommitStats {
  /** Write transactions that held changes (each one fsync): under load, far fewer than changes. */
  batches: number
  /** Changes committed. */
  lines: number
  /** Changes whose records were sealed again in the transaction (the chain was not where expected). */
  resealed: number
}

const sameHead = (a: ChainHead, b: ChainHead): boolean => a.seq === b.seq && a.hash === b.hash

export class GroupCommit {
  readonly stats: GroupCommitStats = { batches: 0, lines: 0, resealed: 0 }
  private queue: Pending[] = []
  private scheduled = false
  /** Each tenant's head once everything this process sealed has committed: where it seals next. */
  private readonly expected = new Map<string, ChainHead>()
  private expectedTime = 0
  /** Changes within one millisecond share their timestamp text. */
  private lastStamp = { ms: Number.NaN, text: '' }

  constructor (private readonly o: GroupCommitOptions) {}

  /** Resolves once the change is durable; rejects with what refused it (nothing of it written). */
  async submit (change: Change): Promise<Committed> {
    const presealed = this.preseal(change)
    return await new Promise<Committed>((resolve, reject) => {
      this.queue.push({ change, presealed, resolve, reject })
      this.schedule()
    })
  }

  private stamp (ms: number): string {
    if (ms !== this.lastStamp.ms) this.lastStamp = { ms, text: iso(ms) }
    return this.lastStamp.text
  }

  /** Throws (TypeError) for a draft the log cannot hold: the change is refused before it queues. */
  private preseal (change: Change): Presealed | null {
    if (change.audit.length === 0) return null
    const from = this.expected.get(change.tenantId) ?? this.o.log.head(change.tenantId)
    const time = Math.max(this.o.now(), this.expectedTime)
    const sealed = this.o.log.seal(change.audit, from, this.stamp(time))
    this.expected.set(change.tenantId, (sealed[sealed.length - 1] as SealedRecord).record)
    this.expectedTime = time
    return { from, time, sealed }
  }

  /** One transaction at a time waits for lmdb to run it; whatever queues meanwhile joins it. */
  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    let batch: Pending[] | null = null
    let outcomes: Outcome[] = []
    let start = -1
    this.o.transact(() => {
      this.scheduled = false
      batch = this.queue
      this.queue = []
      ;({ outcomes, start } = this.apply(batch))
    }).then(() => {
      this.o.durable(start)
      ;(batch as Pending[]).forEach((pending, index) => {
        const outcome = outcomes[index] as Outcome
        if ('refused' in outcome) pending.reject(outcome.refused)
        else pending.resolve(outcome)
      })
    }, (error: unknown) => {
      if (start !== -1) this.o.appended.forget(start)
      // Nothing of the batch is on disk: what this process expected of the chains is void.
      this.expected.clear()
      if (batch === null) {
        // The transaction never ran: its queue is still waiting.
        this.scheduled = false
        batch = this.queue
        this.queue = []
      }
      for (const pending of batch) pending.reject(error)
    })
  }

  /**
   * Inside the write transaction: every check of a change comes before its writes, so a change
   * refused (stale version, ended grant) writes nothing and the others sharing the transaction commit.
   */
  private apply (batch: Pending[]): { outcomes: Outcome[], start: number } {
    const { t, log, entities } = this.o
    this.stats.batches++
    const heads = new Map<string, ChainHead>()
    let lastTime = t.counters.get('lastTime') ?? 0
    const start = log.end()
    let position = start
    const appended: AuditRecord[] = []
    const outcomes = batch.map(({ change, presealed }): Outcome => {
      const { tenantId } = change
      let checked
      let sealed: SealedRecord[] = []
      let time = lastTime
      try {
        checked = entities.check(change)
        if (presealed !== null) {
          const head = heads.get(tenantId) ?? log.head(tenantId)
          if (sameHead(presealed.from, head) && presealed.time >= lastTime) {
            ;({ sealed, time } = presealed)
          } else {
            time = Math.max(this.o.now(), lastTime)
            sealed = log.seal(change.audit, head, this.stamp(time))
            this.stats.resealed++
          }
        }
      } catch (refused) {
        return { refused }
      }
      entities.write(checked, this.o.nextOrdinal)
      const records = sealed.map(({ record }) => record)
      if (sealed.length > 0) {
        log.write(tenantId, sealed, position)
        position += sealed.length
        heads.set(tenantId, records[records.length - 1] as AuditRecord)
        lastTime = time
        appended.push(...records)
      }
      if (change.grantEvents !== undefined && change.grantEvents.length > 0) this.o.logGrantEvents(change.grantEvents)
      this.stats.lines++
      return { records }
    })
    if (position > start) {
      log.advance(heads, position)
      t.counters.put('lastTime', lastTime)
      this.o.appended.own(start, appended)
    }
    // The batch took the whole queue and nothing was submitted while it ran: what comes next is
    // sealed onto the chains as this batch leaves them (refused changes' records left out).
    for (const { change, presealed } of batch) {
      if (presealed !== null) this.expected.set(change.tenantId, heads.get(change.tenantId) ?? log.head(change.tenantId))
    }
    this.expectedTime = lastTime
    return { outcomes, start: position > start ? start : -1 }
  }
}
