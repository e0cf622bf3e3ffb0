// The old journal format (before the LMDB store), read only to migrate a data dir written by it. A
// commit wrote one entry; a compacted journal (retention) starts with a snapshot line, then the
// values it kept, then the commits that arrived while it was being written.
import type { AuditRecord, ChainHead } from '../../domain/audit.js'
import type { LockboxRequest } from '../../domain/lockbox.js'
import type { ServiceRequest, TenantSettings } from '../../domain/tenant.js'
import type { OutboxMessage } from '../../notify/types.js'

/** One journal line: the new values of one commit and the audit records it sealed. */
export interface JournalEntry {
  tenantId: string
  requests?: LockboxRequest[]
  serviceRequests?: ServiceRequest[]
  tenantSettings?: TenantSettings
  notifications?: OutboxMessage[]
  audit?: AuditRecord[]
}

/** A tenant's anchor: the seq and hash of its last pruned record. */
export interface Anchor extends ChainHead { tenantId: string }

/** What the pruned part of the log leaves behind. Only ever the first line of a journal. */
export interface Snapshot {
  /** The audit position of the first kept record: positions (and so cursors) outlive a prune. */
  base: number
  /** The latest audit time before the prune: new records never go below it. */
  lastTime: number
  anchors: Anchor[]
}

/** Current values carried into a compacted journal: entities, or kept audit records in append order. */
export interface Kept {
  requests?: LockboxRequest[]
  serviceRequests?: ServiceRequest[]
  tenantSettings?: TenantSettings[]
  notifications?: OutboxMessage[]
  audit?: AuditRecord[]
}

export type JournalLine = JournalEntry | { snapshot: Snapshot } | { kept: Kept }

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null

/** The line's content, or null when it is not a journal line at all (torn or damaged). */
export function parseLine (text: string): JournalLine | null {
  let line: Partial<Record<'tenantId' | 'snapshot' | 'kept', unknown>> | null
  try {
    line = JSON.parse(text) as typeof line
  } catch {
    return null
  }
  if (typeof line?.tenantId === 'string' || isObject(line?.snapshot) || isObject(line?.kept)) return line as JournalLine
  return null
}
