// Pushes each tenant's audit chain to one SIEM sink, at least once and in chain order. Where the
// sink stands is a cursor in the store (per tenant), advanced only after the receiver acknowledged a
// batch, so a restart resumes there and an outage delays records but never loses one. New records
// come from the store's live feed into a bounded buffer; a forwarder that fell behind (the receiver
// was down, the buffer overflowed, it just started) reads from the store instead. Nothing here is on
// the request path: the gateway only appends to the buffer, and drops records from it when full.
// With several replicas, the cursor doubles as a lease: whoever holds it delivers the tenant.
import { randomUUID } from 'node:crypto'
import { GENESIS_HASH, type AuditRecord } from '../domain/audit.js'
import { backoffMs } from '../notify/worker.js'
import type { Log } from '../log.js'
import type { AuditLog, SiemCursor, SiemCursors } from '../stores/types.js'

export interface SiemSink {
  /** The cursor's name in the store and the metrics label: `hec`, `syslog`. */
  readonly name: string
  /** Delivers the records in order; resolves once the receiver has them as far as its protocol tells, rejects otherwise. */
  send: (records: AuditRecord[]) => Promise<void>
  close: () => Promise<void>
}

export interface ForwarderOptions {
  sink: SiemSink
  cursors: SiemCursors
  audit: Pick<AuditLog, 'query' | 'subscribe'>
  /** The tenants to deliver (the configured ones); tenants seen in the live feed are added. */
  tenants: () => string[]
  now: () => number
  log: Log
  /** This forwarder's name in the lease; a random one by default. */
  owner?: string
  /** Records per delivery. */
  batch?: number
  /** Records held in memory for all tenants together; past it, the forwarder reads from the store. */
  bufferLimit?: number
  leaseMs?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** How often a tenant is read from the store even without news (records the live feed may have missed). */
  rescanMs?: number
  /** Tenants delivered at the same time. */
  parallel?: number
  /** Each acknowledged batch: its size and, per record, the time from commit to acknowledgement. */
  onDelivered?: (count: number, lagsMs: number[]) => void
  onFailure?: () => void
}

interface TenantState {
  buffer: AuditRecord[]
  /** Read from the store before trusting the buffer: just started, fell behind, or the buffer overflowed. */
  behind: boolean
  /** The cursor while this forwarder holds its lease. */
  held: SiemCursor | null
  /** Another forwarder holds the lease: its lag is not ours to report. */
  foreign: boolean
  failures: number
  retryAt: number
  /** The newest record known (live feed or store) and when the oldest undelivered one was committed. */
  latestSeq: number
  pendingSince: number | null
  scannedAt: number
  prunedWarned: boolean
}

export interface ForwarderLag { records: number, seconds: number }

/** Up to `max` records of `buffer` (all after `seq`: see drop) that continue the chain right after `seq`, without a gap. */
function following (buffer: AuditRecord[], seq: number, max: number): AuditRecord[] {
  const out: AuditRecord[] = []
  for (const record of buffer) {
    if (record.seq !== seq + out.length + 1 || out.length === max) break
    out.push(record)
  }
  return out
}

/**
 * Up to `limit` records of the tenant after the cursor, from the store, and whether that is all
 * there is now. Records are found from the cursor's time on (an index range on both backends) and
 * those up to its seq skipped: records of one millisecond share a time.
 */
export async function readAfter (audit: Pick<AuditLog, 'query'>, tenantId: string, cursor: Pick<SiemCursor, 'seq' | 'time'>, limit: number): Promise<{ records: AuditRecord[], end: boolean }> {
  const from = cursor.time === null ? undefined : Date.parse(cursor.time)
  let page: string | undefined
  for (;;) {
    const { items, nextCursor } = await audit.query({ tenantId, from, limit, cursor: page })
    const records = items.filter((record) => record.seq > cursor.seq)
    if (records.length > 0 || nextCursor === null) return { records, end: nextCursor === null }
    page = nextCursor
  }
}

export class SiemForwarder {
  readonly owner: string
  private readonly states = new Map<string, TenantState>()
  private buffered = 0
  private timer: NodeJS.Timeout | null = null
  private unsubscribe: (() => void) | null = null
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private readonly batch: number
  private readonly bufferLimit: number
  private readonly leaseMs: number
  private readonly rescanMs: number
  private readonly parallel: number

  constructor (private readonly options: ForwarderOptions) {
    this.owner = options.owner ?? randomUUID()
    this.batch = options.batch ?? 500
    this.bufferLimit = options.bufferLimit ?? 10_000
    this.leaseMs = options.leaseMs ?? 30_000
    this.rescanMs = options.rescanMs ?? 5000
    this.parallel = options.parallel ?? 8
  }

  get sink (): string {
    return this.options.sink.name
  }

  start (intervalMs = 1000): void {
    this.unsubscribe = this.options.audit.subscribe((records) => { this.take(records) })
    this.timer = setInterval(() => { this.kick() }, intervalMs)
    this.timer.unref()
    this.kick()
  }

  /** Runs a pass soon; a pass under way runs once more when it ends. */
  kick (): void {
    if (this.running !== null) {
      this.again = true
      return
    }
    // A pass never rejects: every failure inside it is logged and retried later.
    // eslint-disable-next-line no-void
    void this.deliver()
  }

  /** Lets go of the leases it holds, so another replica takes over at once rather than when they run out. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.unsubscribe?.()
    await this.running
    for (const [tenantId, state] of this.states) {
      const held = state.held
      if (held === null) continue
      state.held = null
      await this.options.cursors.put({ ...held, owner: null, leaseUntil: 0 }, held.version).catch((err: unknown) => {
        this.options.log.warn({ err, sink: this.sink, tenantId }, 'could not release a SIEM delivery lease; it runs out by itself')
      })
    }
    await this.options.sink.close()
  }

  /** Records not yet delivered and how long the oldest has waited, over the tenants this forwarder delivers. */
  lag (): ForwarderLag {
    const now = this.options.now()
    let records = 0
    let seconds = 0
    for (const state of this.states.values()) {
      if (state.foreign || state.held === null) continue
      records += Math.max(0, state.latestSeq - state.held.seq)
      if (state.pendingSince !== null) seconds = Math.max(seconds, (now - state.pendingSince) / 1000)
    }
    return { records, seconds }
  }

  /** One pass over every tenant, until each is delivered or failing; a pass under way is joined. */
  async deliver (): Promise<void> {
    this.running ??= (async () => {
      do {
        this.again = false
        await this.pass()
      } while (this.again && !this.stopped)
    })().finally(() => { this.running = null })
    await this.running
  }

  /** The live feed: buffered while there is room, else left to be read from the store. */
  private take (records: AuditRecord[]): void {
    for (const record of records) {
      const state = this.state(record.tenantId)
      state.latestSeq = Math.max(state.latestSeq, record.seq)
      // Another replica delivers this tenant: nothing to hold for it.
      if (state.foreign) continue
      state.pendingSince ??= Date.parse(record.time)
      if (this.buffered >= this.bufferLimit) {
        // Full: this tenant's buffer goes, so what remains never has a hole; the store has it all.
        this.buffered -= state.buffer.length
        state.buffer = []
        state.behind = true
        continue
      }
      state.buffer.push(record)
      this.buffered++
    }
    this.kick()
  }

  private state (tenantId: string): TenantState {
    let state = this.states.get(tenantId)
    if (state === undefined) {
      state = { buffer: [], behind: true, held: null, foreign: false, failures: 0, retryAt: 0, latestSeq: 0, pendingSince: null, scannedAt: this.options.now(), prunedWarned: false }
      this.states.set(tenantId, state)
    }
    return state
  }

  /**
   * Every tenant with something to deliver, several at a time: each tenant's batches go one after
   * the other (chain order), but one tenant's slow acknowledgement or settle time does not hold up
   * the others.
   */
  private async pass (): Promise<void> {
    for (const tenantId of this.options.tenants()) this.state(tenantId)
    const now = this.options.now()
    const due: Array<[string, TenantState]> = []
    for (const [tenantId, state] of this.states) {
      if (state.retryAt > now) continue
      if (state.scannedAt + this.rescanMs <= now) {
        state.behind = true
        state.scannedAt = now
      }
      if (state.behind || state.buffer.length > 0) due.push([tenantId, state])
    }
    const next = async (): Promise<void> => {
      for (let entry = due.shift(); entry !== undefined && !this.stopped; entry = due.shift()) {
        const [tenantId, state] = entry
        try {
          await this.drain(tenantId, state)
        } catch (err) {
          // The store did not answer: try again later, from the cursor.
          this.failed(tenantId, state, err, 'SIEM delivery cursor unavailable; will retry')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.parallel, due.length) }, next))
  }

  private failed (tenantId: string, state: TenantState, err: unknown, message: string): void {
    state.failures++
    state.retryAt = this.options.now() + backoffMs(state.failures, this.options.baseDelayMs ?? 500, this.options.maxDelayMs ?? 30_000)
    this.options.onFailure?.()
    this.options.log.warn({ err, sink: this.sink, tenantId, failures: state.failures }, message)
  }

  /** Forgets what the cursor has passed: wherever it stands, since two processes' appends may arrive out of order. */
  private drop (state: TenantState, seq: number): void {
    const kept = state.buffer.filter((record) => record.seq > seq)
    this.buffered -= state.buffer.length - kept.length
    state.buffer = kept
  }

  /** The tenant's cursor with this forwarder's lease on it (renewed when half gone), or null: another holds it. */
  private async lease (tenantId: string, state: TenantState): Promise<SiemCursor | null> {
    const now = this.options.now()
    if (state.held !== null && state.held.leaseUntil - now > this.leaseMs / 2) return state.held
    const { cursors } = this.options
    const stored = await cursors.get(this.sink, tenantId)
    if (stored !== null && stored.owner !== null && stored.owner !== this.owner && stored.leaseUntil > now) {
      // Looked at again when that lease runs out (or sooner, in case it is let go).
      state.retryAt = Math.min(stored.leaseUntil, now + this.rescanMs)
      state.held = null
      state.foreign = true
      return null
    }
    const base = stored ?? { sink: this.sink, tenantId, seq: 0, hash: GENESIS_HASH, time: null, owner: null, leaseUntil: 0, version: 0 }
    const { version, ...fields } = base
    const leased = { ...fields, owner: this.owner, leaseUntil: now + this.leaseMs }
    if (!await cursors.put(leased, version)) {
      // Another replica took it just now.
      state.retryAt = now + this.rescanMs
      state.held = null
      state.foreign = true
      return null
    }
    // A lease newly taken (foreign is only ever set with held let go): what it missed is in the store.
    if (state.held === null) state.behind = true
    state.foreign = false
    state.held = { ...leased, version: version + 1 }
    state.latestSeq = Math.max(state.latestSeq, leased.seq)
    return state.held
  }

  private async next (tenantId: string, state: TenantState, cursor: SiemCursor): Promise<AuditRecord[]> {
    this.drop(state, cursor.seq)
    if (!state.behind) {
      const buffered = following(state.buffer, cursor.seq, this.batch)
      if (buffered.length > 0 || state.buffer.length === 0) return buffered
      // A hole before the buffered records: they were dropped, or missed; the store has them.
      state.behind = true
    }
    const { records, end } = await readAfter(this.options.audit, tenantId, cursor, this.batch)
    if (end) state.behind = false
    const first = records[0]
    if (first !== undefined) {
      state.latestSeq = Math.max(state.latestSeq, (records[records.length - 1] as AuditRecord).seq)
      state.pendingSince ??= Date.parse(first.time)
      if (first.seq !== cursor.seq + 1 && !state.prunedWarned) {
        state.prunedWarned = true
        this.options.log.error({ sink: this.sink, tenantId, fromSeq: cursor.seq + 1, toSeq: first.seq - 1 }, 'audit records were pruned before the SIEM received them')
      }
    }
    return records
  }

  private async drain (tenantId: string, state: TenantState): Promise<void> {
    const { sink, cursors, now, log } = this.options
    while (!this.stopped) {
      const cursor = await this.lease(tenantId, state)
      if (cursor === null) {
        // Another replica delivers this tenant: what this one buffered is its business.
        this.buffered -= state.buffer.length
        state.buffer = []
        state.pendingSince = null
        return
      }
      const records = await this.next(tenantId, state, cursor)
      const last = records[records.length - 1]
      if (last === undefined) {
        state.pendingSince = null
        return
      }
      try {
        await sink.send(records)
      } catch (err) {
        this.failed(tenantId, state, err, 'SIEM delivery failed; will retry from the cursor')
        return
      }
      const at = now()
      state.failures = 0
      this.drop(state, last.seq)
      const advanced = { ...cursor, seq: last.seq, hash: last.hash, time: last.time, leaseUntil: at + this.leaseMs }
      const { version, ...fields } = advanced
      if (!await cursors.put(fields, version)) {
        // The lease ran out while the batch was out and another replica took it: it resends from
        // the cursor, so the receiver may see this batch twice (at least once), never lose it.
        log.warn({ sink: this.sink, tenantId, seq: last.seq }, 'lost the SIEM delivery lease during a batch')
        state.held = null
        return
      }
      state.held = { ...advanced, version: version + 1 }
      const next = following(state.buffer, last.seq, 1)[0]
      state.pendingSince = state.latestSeq > last.seq ? (next === undefined ? at : Date.parse(next.time)) : null
      this.options.onDelivered?.(records.length, records.map((record) => at - Date.parse(record.time)))
    }
  }
}
