// Commits on Redis with group commit per tenant: changes of one tenant that arrive while a commit is
// under way wait, then go together in one script call. The records are sealed here (Lua has no
// SHA-256) on the head as last seen; the script checks that head and every expected version, and
// writes all of it or nothing. A moved head means another replica appended first: re-seal and try
// again, a bounded number of times. A call whose answer was lost is never sent again.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { EMPTY_HEAD, sealRecordText, type AuditRecord } from '../../domain/audit.js'
import { iso } from '../../domain/lockbox.js'
import { ConflictError, GrantEndedError, StoreUnavailableError } from '../../errors.js'
import type { Change, GrantEvent } from '../types.js'
import type { RedisClient } from './connect.js'
import { encodeId, entryId, sortableSeq, type RedisKeys } from './keys.js'
import { planChange, type PlannedChange } from './plan.js'
import { COMMIT, runScript } from './scripts.js'
import type { Log } from '../../log.js'

/** Changes and records one script call may carry: keeps each call short for the server. */
const MAX_BATCH_CHANGES = 128
const MAX_BATCH_RECORDS = 1024
/** Script calls for one batch before giving up on a head other replicas keep moving. */
const MAX_ATTEMPTS = 16

interface Head { seq: number, hash: string, ms: number }

interface Pending {
  change: Change
  plan: PlannedChange
  resolve: (records: AuditRecord[]) => void
  reject: (err: unknown) => void
}

interface TenantQueue { head: Head | null, waiting: Pending[], running: Promise<void> | null }

export interface CommitterOptions {
  client: RedisClient
  keys: RedisKeys
  /** This store's id: messages it published itself are not delivered to it a second time. */
  origin: string
  now: () => number
  /** Registers the tenant and the change's new requests in the cross-tenant indexes. */
  register: (change: Change, plan: PlannedChange) => Promise<void>
  grantEvent: (event: GrantEvent) => void
  appended: (records: AuditRecord[]) => void
  /** Turns a client error into what callers see (StoreUnavailableError). */
  failure: (err: unknown) => Error
  log: Log
}

/** A batch sealed: the script's arguments, the changes in it and their records, and the head it leaves. */
interface Sealed { keys: string[], args: string[], batch: Pending[], records: AuditRecord[][], head: Head }

/**
 * Seals a batch on `head`. A change with a record the audit log cannot hold (a function, a
 * non-finite number) is refused on its own with the TypeError sealing threw; the rest go on.
 */
function seal (batch: Pending[], head: Head, tenantId: string, keys: RedisKeys, now: number): Sealed {
  const ms = Math.max(now, head.ms)
  const time = iso(ms)
  const scriptKeys = [keys.auditHead(tenantId), keys.auditStream(tenantId), keys.auditByRequest(tenantId)]
  const positions = new Map<string, number>()
  const at = (key: string): number => {
    let position = positions.get(key)
    if (position === undefined) {
      position = scriptKeys.push(key)
      positions.set(key, position)
    }
    return position
  }
  const blobs: string[] = []
  const blob = (text: string): number => blobs.push(text) + 4
  let chain: { seq: number, hash: string } = head
  const records: AuditRecord[][] = []
  const kept: Pending[] = []
  const changes: object[] = []
  for (const pending of batch) {
    const { change, plan } = pending
    const ofChange: string[] = []
    const before = chain
    let sealed: AuditRecord[]
    try {
      sealed = change.audit.map((draft) => {
        const { record, text } = sealRecordText(draft, chain, { id: randomUUID(), time })
        chain = record
        ofChange.push(text)
        return record
      })
    } catch (error) {
      chain = before
      pending.reject(error)
      continue
    }
    kept.push(pending)
    records.push(sealed)
    changes.push({
      k: plan.checks.map(({ key, expected }) => [at(key), expected]),
      w: plan.writes.map(({ key, version, json, status }) => status === undefined ? [at(key), version, blob(json)] : [at(key), version, blob(json), status]),
      z: plan.zadds.map(({ key, member, score }) => score === undefined ? [at(key), member] : [at(key), member, score]),
      x: plan.zrems.map(({ key, member }) => [at(key), member]),
      a: plan.sadds.map(({ key, member }) => [at(key), member]),
      r: plan.srems.map(({ key, member }) => [at(key), member]),
      n: plan.counters.map(({ key, number }) => [at(key), number]),
      g: plan.grantEvents.map(({ requestId, status }) => [requestId, status]),
      q: plan.guard === undefined ? undefined : [at(plan.guard.key), plan.guard.now],
      e: sealed.map((record, i) => {
        const id = entryId(ms, record.seq)
        const requestId = record.requestId ?? ''
        const member = requestId === '' ? '' : `${encodeId(requestId)}:${sortableSeq(record.seq)}:${ms}`
        return [id, blob(ofChange[i] as string), record.operation, record.actor.id, requestId, member]
      })
    })
  }
  const plan = { h: [String(head.seq), head.hash], t: [String(chain.seq), chain.hash, String(ms)], tn: tenantId, c: changes }
  return { keys: scriptKeys, args: [JSON.stringify(plan), ...blobs], batch: kept, records, head: { ...chain, ms } }
}

/** How well group commit batches: changes committed, script calls made, calls sent again on a moved head. */
export interface CommitStats { changes: number, calls: number, retries: number }

export class Committer {
  private readonly tenants = new Map<string, TenantQueue>()
  readonly stats: CommitStats = { changes: 0, calls: 0, retries: 0 }

  constructor (private readonly options: CommitterOptions) {}

  async commit (change: Change): Promise<AuditRecord[]> {
    const plan = planChange(change, this.options.keys)
    try {
      await this.options.register(change, plan)
    } catch (err) {
      throw this.options.failure(err)
    }
    const queue = this.queueOf(change.tenantId)
    return await new Promise<AuditRecord[]>((resolve, reject) => {
      queue.waiting.push({ change, plan, resolve, reject })
      queue.running ??= this.drain(change.tenantId, queue)
    })
  }

  /** Resolves once every commit handed in so far has been answered. */
  async settled (): Promise<void> {
    await Promise.all([...this.tenants.values()].map((queue) => queue.running))
  }

  private queueOf (tenantId: string): TenantQueue {
    let queue = this.tenants.get(tenantId)
    if (queue === undefined) {
      queue = { head: null, waiting: [], running: null }
      this.tenants.set(tenantId, queue)
    }
    return queue
  }

  private async drain (tenantId: string, queue: TenantQueue): Promise<void> {
    while (queue.waiting.length > 0) {
      let records = 0
      let size = 0
      while (size < queue.waiting.length && size < MAX_BATCH_CHANGES && (size === 0 || records + (queue.waiting[size] as Pending).change.audit.length <= MAX_BATCH_RECORDS)) {
        records += (queue.waiting[size] as Pending).change.audit.length
        size++
      }
      await this.commitBatch(tenantId, queue, queue.waiting.splice(0, size))
    }
    // The head stays: the next commit of this tenant starts from it, and if another replica moved
    // it meanwhile, the script says so and hands over the new one.
    queue.running = null
  }

  private async commitBatch (tenantId: string, queue: TenantQueue, batch: Pending[]): Promise<void> {
    const { client, keys } = this.options
    for (let attempt = 1; batch.length > 0; attempt++) {
      if (attempt > MAX_ATTEMPTS) {
        for (const pending of batch) pending.reject(new StoreUnavailableError(`the audit chain of ${tenantId} kept moving: gave up after ${MAX_ATTEMPTS} attempts`))
        return
      }
      // Other replicas are appending to this tenant too: let one of them through first.
      if (attempt > 2) await sleep(Math.random() * attempt)
      let answer: Array<string | number>
      let sealed: Sealed
      try {
        queue.head ??= await this.readHead(tenantId)
        sealed = seal(batch, queue.head, tenantId, keys, this.options.now())
        // Changes sealing refused are settled; the rest go on.
        batch = sealed.batch
        if (batch.length === 0) return
        this.stats.calls++
        answer = await runScript(client, COMMIT, sealed.keys, [sealed.args[0] as string, keys.grantChannel(), keys.auditChannel(), this.options.origin, ...sealed.args.slice(1)]) as Array<string | number>
      } catch (err) {
        queue.head = null
        const failure = this.options.failure(err)
        for (const pending of batch) pending.reject(failure)
        return
      }
      const [outcome, ...rest] = answer
      if (outcome === 'head') {
        const [seq, hash, ms] = rest as [string, string, string]
        if (Number(seq) < queue.head.seq) {
          // Chains only grow: Redis lost acknowledged records (a failover ahead of replication, a
          // restart without persistence). Other replicas cannot know, so refusing here would guard
          // nothing: the chain goes on from what Redis has, and a checkpoint held from before shows the loss.
          this.options.log.warn({ tenantId, seq: Number(seq), acknowledgedSeq: queue.head.seq }, 'the audit chain went back: Redis lost acknowledged records')
        }
        queue.head = { seq: Number(seq), hash, ms: Number(ms) }
        this.stats.retries++
        continue
      }
      if (outcome === 'refused') {
        // Nothing was written: the refused changes are answered, the others go again.
        const [staleCount, ...positions] = rest as Array<number | string>
        const refused = new Set<number>()
        for (const position of positions.slice(0, Number(staleCount))) {
          refused.add(Number(position) - 1)
          ;(batch[Number(position) - 1] as Pending).reject(new ConflictError(`a change of ${tenantId} expected versions that are no longer stored`))
        }
        const ended = positions.slice(Number(staleCount))
        for (let i = 0; i < ended.length; i += 2) {
          const index = Number(ended[i]) - 1
          const pending = batch[index] as Pending
          const status = String(ended[i + 1])
          refused.add(index)
          pending.reject(new GrantEndedError((pending.change.requireApproved as { requestId: string }).requestId, status === '' ? null : status))
        }
        batch = batch.filter((_, index) => !refused.has(index))
        continue
      }
      queue.head = sealed.head
      this.stats.changes += batch.length
      this.deliver(batch, sealed.records)
      return
    }
  }

  /** The batch is committed: its grant events (the script published them to the other replicas) and records go to this one's listeners. */
  private deliver (batch: Pending[], records: AuditRecord[][]): void {
    for (const { change } of batch) for (const event of change.grantEvents ?? []) this.options.grantEvent({ ...event })
    for (const [index, pending] of batch.entries()) {
      // The records as sealed (their stored texts are these, written out): listeners and the caller
      // share them, as they do on the embedded store.
      const committed = records[index] as AuditRecord[]
      if (committed.length > 0) this.options.appended(committed)
      pending.resolve(committed)
    }
  }

  private async readHead (tenantId: string): Promise<Head> {
    const [seq, hash, ms] = await this.options.client.hmget(this.options.keys.auditHead(tenantId), 'seq', 'hash', 'ms')
    return { seq: Number(seq ?? EMPTY_HEAD.seq), hash: hash ?? EMPTY_HEAD.hash, ms: Number(ms ?? 0) }
  }
}
