// The audit records in LMDB. Each record is kept as the JSON text it was sealed as, under its
// position (append order across tenants, for good: retention deletes a prefix and moves `first` on,
// so cursors stay valid), with index entries by tenant, request, operation and actor. Time never
// goes backwards in append order, so a time range is a range of positions. Nothing is held in memory:
// every query reads what it needs.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setImmediate as breathe } from 'node:timers/promises'
import type { Key, PutOptions, RangeIterable, Transaction } from 'lmdb'
import { AUDIT_OPERATIONS, ChainVerifier, EMPTY_HEAD, sealRecordText, type AuditDraft, type AuditRecord, type ChainHead, type SealedRecord } from '../../domain/audit.js'
import type { AuditQuery, AuditVerification, Page } from '../types.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import type { Tables } from './db.js'

export type AuditFilter = Omit<AuditQuery, 'limit' | 'cursor'>

/** Records handed out (or chain links checked) between two turns of the event loop. */
const CHUNK = 256
/** An NDJSON export's chunk: few enough writes to be fast, small enough to keep memory flat. */
const NDJSON_CHUNK_BYTES = 64 * 1024
const NEWLINE = 0x0a
/** Records looked at without a match before an export lets the event loop run. */
const SCAN_BUDGET = 4096
/** Records one retention transaction deletes at most, and the time it may take: appends never wait long behind it. */
const PRUNE_CHUNK = 500
const PRUNE_SLICE_MS = 2

/** What a filter becomes: between which positions, which index lists to merge (null: every position), what to check per record. */
interface Plan {
  start: number
  end: number
  lists: Array<{ db: Tables['auditOfTenant'], value: string }> | null
  filter: AuditFilter
  /** No record can match (an empty tenant list). */
  none: boolean
}

interface Candidate { position: number, text: string | undefined }

/**
 * lmdb's zero-copy read (typed without its options): a view of the stored bytes, valid until the
 * next read, so it is copied into the chunk at once.
 */
interface FastBytes { getBinaryFast: (key: number, options?: Read) => Buffer | undefined }

/** Reads in one snapshot (an export, a chain walk) or, with no transaction, in the latest committed state. */
interface Read { transaction?: Transaction }

const KNOWN_OPERATIONS = new Set<string>(AUDIT_OPERATIONS)
/** lmdb's put options for a key above every key in its table (MDB_APPEND). */
const APPEND: PutOptions = { append: true }
/** An index entry's value: its key is the data. One shared empty buffer, so no put allocates one. */
const NOTHING = Buffer.alloc(0)
/**
 * LMDB refuses keys over 1,978 bytes; an index key is the field and a position. A longer field is
 * refused before its change writes anything (a failed put would leave the change half written).
 */
const MAX_INDEXED_BYTES = 1900
/** Below this many UTF-16 units a field cannot exceed MAX_INDEXED_BYTES in UTF-8: no need to count. */
const MAX_INDEXED_LENGTH = MAX_INDEXED_BYTES / 3

function matches (record: AuditRecord, filter: AuditFilter): boolean {
  return (filter.tenantId === undefined || record.tenantId === filter.tenantId) &&
    (filter.tenantIds === undefined || filter.tenantIds.includes(record.tenantId)) &&
    (filter.requestId === undefined || record.requestId === filter.requestId) &&
    // An operation the log does not know is kept, and found by its other fields, but never by its name.
    (filter.operations === undefined || (filter.operations.includes(record.operation) && KNOWN_OPERATIONS.has(record.operation))) &&
    (filter.actorId === undefined || record.actor.id === filter.actorId)
}

/**
 * Whether the index an export walks answers the whole filter: a tenant (or tenants) and a time
 * range only, or nothing. Then every position it gives matches, and no record needs parsing.
 */
function indexAnswers (filter: AuditFilter): boolean {
  return filter.requestId === undefined && filter.actorId === undefined && filter.operations === undefined
}

const parseHead = (text: string | undefined): ChainHead | undefined => (text === undefined ? undefined : JSON.parse(text) as ChainHead)

export class AuditLog {
  constructor (private readonly t: Tables) {}

  /** One past the last position. */
  end (read: Read = {}): number {
    return this.t.counters.get('position', read) ?? 0
  }

  /** The first kept position. */
  first (read: Read = {}): number {
    return this.t.counters.get('first', read) ?? 0
  }

  head (tenantId: string): ChainHead {
    return parseHead(this.t.heads.get(tenantId)) ?? EMPTY_HEAD
  }

  /**
   * Seals the drafts onto the chain after `head` and returns them, writing nothing; throws
   * (TypeError) for a draft the log cannot hold: one without a canonical form, or with a field too
   * long for an index key.
   */
  seal (drafts: AuditDraft[], head: ChainHead, time: string): SealedRecord[] {
    return drafts.map((draft) => {
      for (const field of [draft.tenantId, draft.requestId ?? '', draft.operation, draft.actor.id]) {
        if (field.length > MAX_INDEXED_LENGTH && Buffer.byteLength(field) > MAX_INDEXED_BYTES) throw new TypeError(`an indexed field of an audit record is longer than ${MAX_INDEXED_BYTES} bytes`)
      }
      const sealed = sealRecordText(draft, head, { id: randomUUID(), time })
      head = sealed.record
      return sealed
    })
  }

  /**
   * Inside a write transaction: writes sealed records of one tenant from `position` on, with their
   * index entries. The caller moves the tenant's head and the log's end once per transaction (see
   * `advance`).
   */
  write (tenantId: string, sealed: SealedRecord[], position: number): void {
    const { t } = this
    for (const { record, text } of sealed) {
      // Positions only grow, so each record goes at the end of its table: LMDB's append mode fills
      // every page instead of splitting the last one in half (measured: 17 % fewer pages for the
      // records, 13 % smaller file, fewer pages written and flushed per commit).
      t.audit.putSync(position, text, APPEND)
      t.auditOfTenant.put([tenantId, position], NOTHING)
      if (record.requestId !== null) t.auditOfRequest.put([record.requestId, position], NOTHING)
      t.auditOfOperation.put([record.operation, position], NOTHING)
      t.auditOfActor.put([record.actor.id, position], NOTHING)
      position++
    }
  }

  /** Inside the same write transaction: the tenants' new heads and the log's new end. */
  advance (heads: Map<string, ChainHead>, end: number): void {
    for (const [tenantId, head] of heads) this.t.heads.put(tenantId, JSON.stringify({ seq: head.seq, hash: head.hash }))
    this.t.counters.put('position', end)
  }

  /** The records at positions from `start` (inclusive) to `end` (exclusive) that still exist. */
  between (start: number, end: number): AuditRecord[] {
    const records: AuditRecord[] = []
    for (const { value } of this.t.audit.getRange({ start, end })) records.push(JSON.parse(value) as AuditRecord)
    return records
  }

  query (query: AuditQuery): Page<AuditRecord> {
    const limit = Math.max(1, Math.floor(query.limit))
    const after = query.cursor === undefined ? -1 : (decodeCursor('a', query.cursor, 1)[0] as number)
    const { found } = this.collect(this.plan(query), after, limit + 1, Infinity)
    const page = found.slice(0, limit)
    const nextCursor = found.length > limit ? encodeCursor('a', [page[page.length - 1]?.position as number]) : null
    return { items: page.map(({ record }) => record), nextCursor }
  }

  /**
   * Streams the matching records that exist when it starts, a chunk at a time, letting the event loop
   * run between chunks; `guard` throws once the store can no longer answer.
   */
  async * export (filter: AuditFilter, guard: () => void): AsyncGenerator<AuditRecord> {
    guard()
    // One snapshot for the whole export: a prune or appends meanwhile change nothing it gives.
    const read = { transaction: this.t.root.useReadTransaction() }
    try {
      const plan = this.plan(filter, read)
      let after = -1
      for (;;) {
        guard()
        const { found, resume } = this.collect(plan, after, CHUNK, SCAN_BUDGET, read)
        for (const { record } of found) yield record
        if (resume === null) return
        after = resume
        await breathe()
      }
    } finally {
      read.transaction.done()
    }
  }

  /**
   * The same records as `export`, as NDJSON in chunks of about 64 KiB. Without `map`, each line is
   * the record's text as it was sealed, copied from the database as it is: nothing is parsed unless
   * the filter names a field the index it walks does not answer (a request, actor or operation
   * beside a tenant). With `map`, each line is the JSON of what it makes of the record. The next
   * chunk is read only when the consumer asks for it (backpressure).
   */
  async * exportNdjson (filter: AuditFilter, guard: () => void, map?: (record: AuditRecord) => unknown): AsyncGenerator<Buffer> {
    guard()
    const read = { transaction: this.t.root.useReadTransaction() }
    try {
      const plan = this.plan(filter, read)
      if (plan.none) return
      const exact = indexAnswers(filter)
      let chunk = Buffer.allocUnsafe(NDJSON_CHUNK_BYTES)
      let used = 0
      let looked = 0
      for (const position of this.positions(plan, plan.start, read)) {
        const bytes = (this.t.auditBytes as unknown as FastBytes).getBinaryFast(position, read)
        /* c8 ignore next -- a position listed by an index always has its record, unless deleted behind the store's back */
        if (bytes === undefined) continue
        // lmdb's shared read buffer has the value's size as its own `length` over a larger memory,
        // which Buffer methods do not all honour: work on a view of exactly that size.
        const stored = bytes.subarray(0, bytes.length)
        const record = exact && map === undefined ? null : JSON.parse(stored.toString('utf8')) as AuditRecord
        if (record !== null && !matches(record, filter)) {
          if (++looked === SCAN_BUDGET) {
            looked = 0
            await breathe()
            guard()
          }
          continue
        }
        const line = record === null || map === undefined ? stored : JSON.stringify(map(record))
        // A string takes at most three bytes per UTF-16 unit.
        const room = typeof line === 'string' ? line.length * 3 + 1 : line.length + 1
        let full: Buffer | null = null
        if (used + room > chunk.length) {
          if (used > 0) full = chunk.subarray(0, used)
          chunk = Buffer.allocUnsafe(Math.max(NDJSON_CHUNK_BYTES, room))
          used = 0
        }
        // Copied before anything else can run: `stored` is a view of lmdb's shared read buffer,
        // which the next read anywhere in the process overwrites.
        if (typeof line === 'string') used += chunk.write(line, used)
        else {
          chunk.set(line, used)
          used += line.length
        }
        chunk[used++] = NEWLINE
        if (full !== null) {
          yield full
          guard()
          looked = 0
          await breathe()
        }
      }
      if (used > 0) yield chunk.subarray(0, used)
    } finally {
      read.transaction.done()
    }
  }

  /** Walks the tenant's kept chain from its anchor, or from the genesis when nothing was pruned. */
  async verify (tenantId: string, guard: () => void): Promise<AuditVerification> {
    // One snapshot for the whole walk: a prune meanwhile moves neither its anchor nor its records.
    const read = { transaction: this.t.root.useReadTransaction() }
    const anchor = parseHead(this.t.anchors.get(tenantId, read))
    const verifier = new ChainVerifier(anchor)
    try {
      let after = -1
      for (;;) {
        let count = 0
        for (const key of this.t.auditOfTenant.getKeys({ start: [tenantId, after + 1], end: [tenantId, Number.MAX_SAFE_INTEGER], limit: CHUNK, ...read })) {
          after = (key as [string, number])[1]
          verifier.push(JSON.parse(this.t.audit.get(after, read) as string) as AuditRecord)
          count++
        }
        if (count < CHUNK) break
        await breathe()
        guard()
      }
    } finally {
      read.transaction.done()
    }
    const result: AuditVerification = verifier.result()
    return anchor === undefined ? result : { ...result, anchorSeq: anchor.seq }
  }

  /**
   * The first position whose record's time is not before `time` (epoch ms): a binary search over the
   * kept positions. A position without a record (deleted behind the store's back) counts as the next
   * record that exists, so a hole never moves the cut past records that are not old enough.
   */
  cutBefore (time: number, read: Read = {}, low = this.first(read), high = this.end(read)): number {
    while (low < high) {
      const mid = Math.floor((low + high) / 2)
      let next: { key: number, value: string } | undefined
      for (const entry of this.t.audit.getRange({ start: mid, end: high, limit: 1, ...read })) next = entry
      /* c8 ignore next -- nothing from mid on: only a tail deleted behind the store's back leaves that */
      if (next === undefined) high = mid
      else if (Date.parse((JSON.parse(next.value) as AuditRecord).time) < time) low = next.key + 1
      else high = mid
    }
    return low
  }

  /**
   * Retention: deletes the records before `before` in small transactions, each moving `first` and
   * the tenants' anchors on with what it deleted, so that a crash between two leaves a whole chain.
   * `transact` runs its callback in a write transaction; `guard` throws once the store closes.
   */
  async prune (before: number, transact: <T>(work: () => T) => Promise<T>, guard: () => void): Promise<number> {
    const cut = this.cutBefore(before)
    let deleted = 0
    for (;;) {
      guard()
      const count = await transact(() => this.pruneChunk(cut))
      if (count === 0) return deleted
      deleted += count
    }
  }

  private pruneChunk (cut: number): number {
    const { t } = this
    const first = this.first()
    const limit = Math.min(cut, first + PRUNE_CHUNK)
    const anchors = new Map<string, ChainHead>()
    const started = performance.now()
    let end = first
    // Commits that share the transaction wait for it: it stops after PRUNE_SLICE_MS.
    while (end < limit && ((end - first) % 32 !== 31 || performance.now() - started < PRUNE_SLICE_MS)) {
      const position = end++
      const text = t.audit.get(position)
      /* c8 ignore next -- positions below `end` exist unless something else deleted them: skip, never stop retention */
      if (text === undefined) continue
      const record = JSON.parse(text) as AuditRecord
      t.audit.remove(position)
      t.auditOfTenant.remove([record.tenantId, position])
      if (record.requestId !== null) t.auditOfRequest.remove([record.requestId, position])
      t.auditOfOperation.remove([record.operation, position])
      t.auditOfActor.remove([record.actor.id, position])
      anchors.set(record.tenantId, { seq: record.seq, hash: record.hash })
    }
    for (const [tenantId, anchor] of anchors) t.anchors.put(tenantId, JSON.stringify(anchor))
    if (end > first) t.counters.put('first', end)
    return Math.max(0, end - first)
  }

  private plan (filter: AuditFilter, read: Read = {}): Plan {
    let tenants: string[] | null = filter.tenantIds ?? null
    if (filter.tenantId !== undefined) tenants = tenants === null || tenants.includes(filter.tenantId) ? [filter.tenantId] : []
    const start = filter.from === undefined ? this.first(read) : this.cutBefore(filter.from, read)
    const end = filter.to === undefined ? this.end(read) : this.cutBefore(filter.to, read, start)
    let lists: Plan['lists'] = null
    if (filter.requestId !== undefined) lists = [{ db: this.t.auditOfRequest, value: filter.requestId }]
    else if (filter.actorId !== undefined) lists = [{ db: this.t.auditOfActor, value: filter.actorId }]
    else if (filter.operations !== undefined) lists = filter.operations.map((value) => ({ db: this.t.auditOfOperation, value }))
    else if (tenants !== null) lists = tenants.map((value) => ({ db: this.t.auditOfTenant, value }))
    return { start, end, lists, filter, none: tenants?.length === 0 }
  }

  /** Positions from `start` to `end` in any of the plan's lists (or all of them), ascending, with the text when a range read gave it. */
  private * candidates (plan: Plan, start: number, read: Read): Generator<Candidate> {
    if (plan.lists === null) {
      for (const { key, value } of this.t.audit.getRange({ start, end: plan.end, ...read })) yield { position: key, text: value }
      return
    }
    for (const position of this.positions(plan, start, read)) yield { position, text: undefined }
  }

  /** Positions from `start` to `end` in any of the plan's lists (or every kept position), ascending. */
  private * positions (plan: Plan, start: number, read: Read): Generator<number> {
    if (plan.lists === null) {
      for (const key of this.t.audit.getKeys({ start, end: plan.end, ...read })) yield key
      return
    }
    const iterators = plan.lists.map(({ db, value }) => (db.getKeys({ start: [value, start], end: [value, plan.end], ...read }) as RangeIterable<Key>)[Symbol.iterator]())
    try {
      const heads = iterators.map((iterator) => iterator.next())
      for (;;) {
        let lowest = -1
        let at = -1
        heads.forEach((head, index) => {
          if (head.done === true) return
          const position = (head.value as [string, number])[1]
          if (lowest === -1 || position < lowest) {
            lowest = position
            at = index
          }
        })
        if (at === -1) return
        heads[at] = (iterators[at] as Iterator<Key>).next()
        yield lowest
      }
    } finally {
      for (const iterator of iterators) iterator.return?.()
    }
  }

  /**
   * Up to `max` matching records after position `after`, looking at no more than `budget`
   * candidates. `resume` is where to continue, or null when the candidates ran out.
   */
  private collect (plan: Plan, after: number, max: number, budget: number, read: Read = {}): { found: Array<{ position: number, record: AuditRecord }>, resume: number | null } {
    const found: Array<{ position: number, record: AuditRecord }> = []
    if (plan.none) return { found, resume: null }
    let looked = 0
    for (const { position, text } of this.candidates(plan, Math.max(plan.start, after + 1), read)) {
      const stored = text ?? this.t.audit.get(position, read)
      if (stored !== undefined) {
        const record = JSON.parse(stored) as AuditRecord
        if (matches(record, plan.filter)) {
          found.push({ position, record })
          if (found.length === max) return { found, resume: position }
        }
      }
      if (++looked === budget) return { found, resume: position }
    }
    return { found, resume: null }
  }
}
