// The audit records in memory, with the indexes that answer queries without scanning the whole log.
// Each record is kept as its JSON text (UTF-8 bytes in a text arena) and parsed only when read; the
// fields filters look at live in typed columns. Positions number records in append order for good:
// retention drops a prefix and moves `base` (the first kept position) on, so cursors stay valid.
import { setImmediate as breathe } from 'node:timers/promises'
import { AUDIT_OPERATIONS, ChainVerifier, EMPTY_HEAD, type AuditRecord, type ChainHead } from '../../domain/audit.js'
import type { AuditQuery, AuditVerification, Page } from '../types.js'
import { Column, Interner, lowerBound, type Sorted } from './column.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { TextArena } from './text-arena.js'
import type { Anchor, Snapshot } from './lines.js'

export type AuditFilter = Omit<AuditQuery, 'limit' | 'cursor'>

/** Records handed out (or chain links checked) between two turns of the event loop. */
const CHUNK = 256
/** Records looked at without a match before an export lets the event loop run. */
const SCAN_BUDGET = 4096
const UNKNOWN_OPERATION = 255
const OPERATION_NUMBER = new Map<string, number>(AUDIT_OPERATIONS.map((operation, index) => [operation, index]))

/** What a filter becomes: where to look, between which positions, and what to check per record. */
interface Plan {
  /** Ascending position lists to merge, or null for every position. */
  lists: Sorted[] | null
  start: number
  end: number
  tenants: Set<number> | null
  operations: Set<number> | null
  actor: number | null
}

/** Positions from `start` (inclusive) to `end` (exclusive) found in any of `lists`, ascending. */
function * merged (lists: Sorted[], start: number, end: number): Generator<number> {
  const heads = lists.map((list) => ({ list, index: lowerBound(list, start) }))
  for (;;) {
    let next: typeof heads[number] | undefined
    let lowest = end
    for (const head of heads) {
      if (head.index === head.list.length) continue
      const position = head.list.at(head.index) as number
      if (position < lowest) {
        next = head
        lowest = position
      }
    }
    if (next === undefined) return
    next.index++
    yield lowest
  }
}

function * range (start: number, end: number): Generator<number> {
  for (let position = start; position < end; position++) yield position
}

const positions = (capacity?: number): Column => new Column((size) => new Uint32Array(size), capacity)

export class AuditIndex {
  /** The texts and columns hold the records from `base` on: entry i is position base + i. */
  private base = 0
  private texts = new TextArena()
  private times = new Column((size) => new Float64Array(size))
  private tenantOf = positions()
  private operationOf = new Column((size) => new Uint8Array(size))
  private actorOf = positions()
  private tenants = new Interner()
  private actors = new Interner()
  /** Per tenant number, its records' positions. */
  private ofTenant: Column[] = []
  private ofRequest = new Map<string, number[]>()
  /** Each tenant's last record ever appended, kept or pruned. */
  private heads = new Map<string, ChainHead>()
  /** Each tenant's last pruned record, where its chain walk starts once retention cut it. */
  private anchors = new Map<string, ChainHead>()
  /** Latest `time` appended, epoch ms: new records never go below it, so time order is append order. */
  lastTime = 0

  /** The first kept position. */
  get start (): number {
    return this.base
  }

  /** One past the last position. */
  get end (): number {
    return this.base + this.texts.length
  }

  /** Where a replayed compacted journal starts (its first line, so the index is still empty). */
  restore (snapshot: Snapshot): void {
    this.base = snapshot.base
    this.lastTime = snapshot.lastTime
    for (const { tenantId, seq, hash } of snapshot.anchors) {
      this.anchors.set(tenantId, { seq, hash })
      this.heads.set(tenantId, { seq, hash })
    }
  }

  /** `text` is the record's JSON when the caller has it already. */
  append (record: AuditRecord, text = JSON.stringify(record)): void {
    const position = this.end
    this.texts.push(text)
    const time = Date.parse(record.time)
    this.times.push(time)
    this.lastTime = Math.max(this.lastTime, time)
    const tenant = this.tenants.intern(record.tenantId)
    this.tenantOf.push(tenant)
    const list = this.ofTenant[tenant] ?? (this.ofTenant[tenant] = positions(64))
    list.push(position)
    this.operationOf.push(OPERATION_NUMBER.get(record.operation) ?? UNKNOWN_OPERATION)
    this.actorOf.push(this.actors.intern(record.actor.id))
    if (record.requestId !== null) {
      const ofRequest = this.ofRequest.get(record.requestId)
      if (ofRequest === undefined) this.ofRequest.set(record.requestId, [position])
      else ofRequest.push(position)
    }
    this.heads.set(record.tenantId, { seq: record.seq, hash: record.hash })
  }

  head (tenantId: string): ChainHead {
    return this.heads.get(tenantId) ?? EMPTY_HEAD
  }

  query (query: AuditQuery): Page<AuditRecord> {
    const limit = Math.max(1, Math.floor(query.limit))
    const after = query.cursor === undefined ? -1 : (decodeCursor('a', query.cursor, 1)[0] as number)
    const { positions } = this.collect(this.plan(query), after, limit + 1, Infinity)
    const page = positions.slice(0, limit)
    const nextCursor = positions.length > limit ? encodeCursor('a', [page[page.length - 1] as number]) : null
    return { items: page.map((position) => this.record(position)), nextCursor }
  }

  /**
   * Streams the matching records that exist when it starts, a chunk at a time, letting the event loop
   * run between chunks; `guard` throws once the store can no longer answer.
   */
  async * export (filter: AuditFilter, guard: () => void): AsyncGenerator<AuditRecord> {
    const plan = this.plan(filter)
    let after = -1
    for (;;) {
      guard()
      const { positions, resume } = this.collect(plan, after, CHUNK, SCAN_BUDGET)
      for (const position of positions) yield this.record(position)
      if (resume === null) return
      after = resume
      await breathe()
    }
  }

  /** Walks the tenant's kept chain from its anchor, or from the genesis when nothing was pruned. */
  async verify (tenantId: string, guard: () => void): Promise<AuditVerification> {
    const anchor = this.anchors.get(tenantId)
    const verifier = new ChainVerifier(anchor)
    const tenant = this.tenants.lookup(tenantId)
    const list: Sorted = tenant === undefined ? [] : this.ofTenant[tenant] as Column
    const count = list.length
    for (let index = 0; index < count; index++) {
      if (index % CHUNK === CHUNK - 1) {
        await breathe()
        guard()
      }
      verifier.push(this.record(list.at(index) as number))
    }
    const result: AuditVerification = verifier.result()
    return anchor === undefined ? result : { ...result, anchorSeq: anchor.seq }
  }

  /** The position of the first record whose time is not before `time` (epoch ms). */
  cutBefore (time: number): number {
    return this.base + lowerBound(this.times, time)
  }

  /** Each tenant's anchor once the records before position `cut` are gone. */
  anchorsAt (cut: number): Anchor[] {
    const anchors = new Map(this.anchors)
    for (const [tenantId, tenant] of this.tenants.entries()) {
      const list = this.ofTenant[tenant] as Column
      const last = lowerBound(list, cut) - 1
      if (last === -1) continue
      const { seq, hash } = this.record(list.at(last))
      anchors.set(tenantId, { seq, hash })
    }
    return [...anchors].map(([tenantId, { seq, hash }]) => ({ tenantId, seq, hash }))
  }

  /** The records from `start` to `end` (positions) as their JSON texts, for a compacted journal. */
  textsBetween (start: number, end: number): string[] {
    return this.texts.between(start - this.base, end - this.base)
  }

  /**
   * A new index without the records before position `cut`: the same positions, heads and interned
   * numbers, anchors moved on. This one is left as it was, for exports and walks already under way.
   */
  compacted (cut: number): AuditIndex {
    const skip = cut - this.base
    const next = new AuditIndex()
    next.base = cut
    next.texts = this.texts.from(skip)
    next.times = this.times.from(skip)
    next.tenantOf = this.tenantOf.from(skip)
    next.operationOf = this.operationOf.from(skip)
    next.actorOf = this.actorOf.from(skip)
    next.tenants = new Interner(this.tenants.entries())
    next.actors = new Interner(this.actors.entries())
    next.ofTenant = this.ofTenant.map((list) => list.from(lowerBound(list, cut)))
    for (const [requestId, list] of this.ofRequest) {
      const first = lowerBound(list, cut)
      if (first < list.length) next.ofRequest.set(requestId, list.slice(first))
    }
    next.heads = new Map(this.heads)
    for (const { tenantId, seq, hash } of this.anchorsAt(cut)) next.anchors.set(tenantId, { seq, hash })
    next.lastTime = this.lastTime
    return next
  }

  private record (position: number): AuditRecord {
    return JSON.parse(this.texts.at(position - this.base)) as AuditRecord
  }

  private plan (filter: AuditFilter): Plan {
    let tenants: number[] | null = null
    if (filter.tenantIds !== undefined) tenants = this.knownTenants(filter.tenantIds)
    if (filter.tenantId !== undefined) tenants = this.knownTenants([filter.tenantId]).filter((tenant) => tenants?.includes(tenant) ?? true)
    let lists: Sorted[] | null = null
    if (filter.requestId !== undefined) lists = [this.ofRequest.get(filter.requestId) ?? []]
    else if (tenants !== null) lists = tenants.map((tenant) => this.ofTenant[tenant] as Column)
    const actor = filter.actorId === undefined ? null : this.actors.lookup(filter.actorId) ?? -1
    return {
      lists,
      start: filter.from === undefined ? this.base : this.cutBefore(filter.from),
      end: filter.to === undefined ? this.end : this.cutBefore(filter.to),
      tenants: tenants === null ? null : new Set(tenants),
      operations: filter.operations === undefined ? null : new Set(filter.operations.map((operation) => OPERATION_NUMBER.get(operation) ?? -1)),
      actor
    }
  }

  private knownTenants (tenantIds: string[]): number[] {
    return tenantIds.map((tenantId) => this.tenants.lookup(tenantId)).filter((tenant) => tenant !== undefined)
  }

  /**
   * Up to `max` matching positions after `after`, looking at no more than `budget` candidates.
   * `resume` is where to continue, or null when the candidates ran out.
   */
  private collect (plan: Plan, after: number, max: number, budget: number): { positions: number[], resume: number | null } {
    const positions: number[] = []
    const start = Math.max(plan.start, after + 1)
    const candidates = plan.lists === null ? range(start, plan.end) : merged(plan.lists, start, plan.end)
    let looked = 0
    for (const position of candidates) {
      if (this.matches(plan, position)) {
        positions.push(position)
        if (positions.length === max) return { positions, resume: position }
      }
      if (++looked === budget) return { positions, resume: position }
    }
    return { positions, resume: null }
  }

  private matches (plan: Plan, position: number): boolean {
    const index = position - this.base
    return (plan.tenants === null || plan.tenants.has(this.tenantOf.at(index))) &&
      (plan.operations === null || plan.operations.has(this.operationOf.at(index))) &&
      (plan.actor === null || plan.actor === this.actorOf.at(index))
  }
}
