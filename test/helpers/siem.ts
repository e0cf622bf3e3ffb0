// Shared by the SIEM sink tests: records committed through a real store, and the delivery check —
// every record arrives, in chain order per tenant, repeated only from a resume point.
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditRecord } from '../../src/domain/audit.js'
import type { Stores } from '../../src/stores/types.js'
import { draft } from '../stores/contract-fixtures.js'

/** Commits `count` records to the tenant's chain, `perChange` at a time. */
export async function commitRecords (stores: Stores, tenantId: string, count: number, perChange = 10): Promise<AuditRecord[]> {
  const records: AuditRecord[] = []
  for (let done = 0; done < count; done += perChange) {
    const n = Math.min(perChange, count - done)
    records.push(...await stores.lockbox.commit({ tenantId, audit: Array.from({ length: n }, (_, i) => draft('ContentAccessed', { tenantId, details: { method: 'GET', n: done + i } })) }))
  }
  return records
}

export async function waitUntil (condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}

export interface Delivery {
  /** Every seq from 1 to the last arrived at least once. */
  complete: boolean
  /** Where delivery went back to resend (a resume point): the seq it resumed from. */
  resumes: number[]
  /** Seqs that came after a gap (a record skipped and not yet resent): must be none. */
  gaps: number[]
  /** Seqs that arrived again with a different id: must be none. */
  conflicts: number[]
  duplicates: number
}

/**
 * Reads one tenant's arrivals, in arrival order, as (seq, id) pairs: each must continue the chain
 * (seq + 1) or go back to resend from a resume point, and a resent record must carry the same id.
 */
export function checkDelivery (arrivals: Array<{ seq: number, id: string }>, total: number): Delivery {
  const ids = new Map<number, string>()
  const result: Delivery = { complete: false, resumes: [], gaps: [], conflicts: [], duplicates: 0 }
  let last = 0
  for (const { seq, id } of arrivals) {
    const known = ids.get(seq)
    if (known !== undefined) {
      result.duplicates++
      if (known !== id) result.conflicts.push(seq)
    }
    ids.set(seq, id)
    if (seq <= last) result.resumes.push(seq)
    else if (seq !== last + 1) result.gaps.push(seq)
    last = seq
  }
  result.complete = ids.size === total && Array.from({ length: total }, (_, i) => i + 1).every((seq) => ids.has(seq))
  return result
}
