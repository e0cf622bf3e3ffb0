// Refusals past the budget are not dropped from the record: each one is counted into the summary of
// its source (a client address, in the log of the tenant whose path it asked for), and a summary
// is written as one ContentAccessDenied record with `details.summary: true`. Memory stays bounded
// however many addresses an attacker has: at most `maxSources` sources are tracked between two
// summaries, and refusals from any further address fold into one "other sources" summary per
// tenant (the tenants are bounded by configuration).
import type { AuditDraft } from '../domain/audit.js'

/** One refusal counted past the budget. */
export interface CountedRefusal {
  tenantId: string
  /** The budget's key of the client address (an IPv6 address's /64), or null when unknown. */
  source: string | null
  clientIp: string | null
  workload: string
  method: string
  path: string
  reason: string
  /** Epoch ms. */
  at: number
}

/** `details.source` of the summary that folds the refusals of sources past `maxSources`. */
export const OTHER_SOURCES = 'other'
/** `details.source` when the client address is unknown (the connection was gone). */
export const UNKNOWN_SOURCE = 'unknown'
/** The answer those refusals got. */
export const THROTTLED_STATUS = 429

const SAMPLE_PATHS = 3
const SAMPLE_PATH_LENGTH = 256
const MAX_REASONS = 8
const OTHER_REASONS = 'other'
const MAX_WORKLOADS = 3

interface Tally {
  tenantId: string
  source: string
  clientIp: string | null
  count: number
  firstAt: number
  lastAt: number
  samplePaths: string[]
  reasons: Map<string, number>
  workloads: Set<string>
}

function emptyTally (tenantId: string, source: string, clientIp: string | null, at: number): Tally {
  return { tenantId, source, clientIp, count: 0, firstAt: at, lastAt: at, samplePaths: [], reasons: new Map(), workloads: new Set() }
}

function addReason (reasons: Map<string, number>, reason: string, count: number): void {
  const key = reasons.has(reason) || reasons.size < MAX_REASONS ? reason : OTHER_REASONS
  reasons.set(key, (reasons.get(key) ?? 0) + count)
}

function addSample (tally: Tally, path: string): void {
  const sample = path.slice(0, SAMPLE_PATH_LENGTH)
  if (tally.samplePaths.length < SAMPLE_PATHS && !tally.samplePaths.includes(sample)) tally.samplePaths.push(sample)
}

/** Adds `from` into `into` (same tenant). */
function merge (into: Tally, from: Tally): void {
  into.count += from.count
  into.firstAt = Math.min(into.firstAt, from.firstAt)
  into.lastAt = Math.max(into.lastAt, from.lastAt)
  for (const path of from.samplePaths) addSample(into, path)
  for (const [reason, count] of from.reasons) addReason(into.reasons, reason, count)
  for (const workload of from.workloads) if (into.workloads.size < MAX_WORKLOADS) into.workloads.add(workload)
}

export class RefusalSummaries {
  private sources = new Map<string, Tally>()
  /** One per tenant: the refusals of sources beyond `maxSources`. */
  private others = new Map<string, Tally>()

  constructor (private readonly maxSources: number) {}

  /** Refusals counted and not yet taken. */
  get pending (): number {
    let count = 0
    for (const tally of this.sources.values()) count += tally.count
    for (const tally of this.others.values()) count += tally.count
    return count
  }

  count (refusal: CountedRefusal): void {
    const tally = this.tallyOf(refusal.tenantId, refusal.source ?? UNKNOWN_SOURCE, refusal.clientIp, refusal.at)
    tally.count++
    tally.lastAt = Math.max(tally.lastAt, refusal.at)
    tally.firstAt = Math.min(tally.firstAt, refusal.at)
    addSample(tally, refusal.path)
    addReason(tally.reasons, refusal.reason, 1)
    if (tally.workloads.size < MAX_WORKLOADS) tally.workloads.add(refusal.workload)
  }

  /** Everything counted so far, one tally per source; the summaries start again empty. */
  take (): Tally[] {
    const taken = [...this.sources.values(), ...this.others.values()]
    this.sources = new Map()
    this.others = new Map()
    return taken
  }

  /** A tally taken but not written (the store failed): counted again, towards the next summary. */
  restore (tally: Tally): void {
    merge(this.tallyOf(tally.tenantId, tally.source, tally.clientIp, tally.firstAt), tally)
  }

  private tallyOf (tenantId: string, source: string, clientIp: string | null, at: number): Tally {
    if (source !== OTHER_SOURCES) {
      const key = `${tenantId} ${source}`
      let tally = this.sources.get(key)
      if (tally === undefined && this.sources.size < this.maxSources) {
        tally = emptyTally(tenantId, source, clientIp, at)
        this.sources.set(key, tally)
      }
      if (tally !== undefined) return tally
    }
    let other = this.others.get(tenantId)
    if (other === undefined) {
      other = emptyTally(tenantId, OTHER_SOURCES, null, at)
      this.others.set(tenantId, other)
    }
    return other
  }
}

export type { Tally as RefusalTally }

/** The summary record of one source's refusals. */
export function summaryDraft (tally: Tally): AuditDraft {
  const workloads = [...tally.workloads]
  return {
    tenantId: tally.tenantId,
    operation: 'ContentAccessDenied',
    result: 'Denied',
    actor: { id: 'unknown', type: 'SupportEngineer' },
    clientIp: tally.clientIp,
    requestId: null,
    workload: workloads.length === 1 ? workloads[0] as string : null,
    object: null,
    // Keys in sorted order, as the other content records: the canonical form needs no reordered copy.
    details: {
      count: tally.count,
      firstAt: new Date(tally.firstAt).toISOString(),
      lastAt: new Date(tally.lastAt).toISOString(),
      reasons: Object.fromEntries([...tally.reasons].sort(([a], [b]) => a < b ? -1 : 1)),
      samplePaths: tally.samplePaths,
      source: tally.source,
      status: THROTTLED_STATUS,
      summary: true
    }
  }
}
