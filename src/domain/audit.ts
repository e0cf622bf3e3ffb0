// Audit record shape (API.md §6), RFC 8785 canonical JSON and the per-tenant SHA-256 hash chain.
import { createHash } from 'node:crypto'

export const AUDIT_OPERATIONS = [
  'ServiceRequestOpened',
  'ServiceRequestClosed',
  'LockboxRequestCreated',
  'LockboxRequestManagerApproved',
  'LockboxRequestManagerRejected',
  'ApproversNotified',
  'LockboxRequestApproved',
  'LockboxRequestDenied',
  'LockboxRequestExpired',
  'LockboxRequestCanceled',
  'LockboxAccessRevoked',
  'LockboxAccessCompleted',
  'LockboxAccessTokenIssued',
  'ContentAccessed',
  'ContentAccessCompleted',
  'ContentAccessDenied',
  'TenantSettingsUpdated'
] as const
export type AuditOperation = typeof AUDIT_OPERATIONS[number]

export type AuditResult = 'Success' | 'Failure' | 'Denied'
export type AuditActorType = 'SupportEngineer' | 'SupportManager' | 'CustomerApprover' | 'CustomerUser' | 'System'

export interface AuditActor { id: string, type: AuditActorType }

/** What a caller hands the store; the store adds id, seq, time and the chain fields. */
export interface AuditDraft {
  tenantId: string
  operation: AuditOperation
  result: AuditResult
  actor: AuditActor
  clientIp: string | null
  requestId: string | null
  workload: string | null
  object: string | null
  details: Record<string, unknown>
}

export interface AuditRecord extends AuditDraft {
  id: string
  seq: number
  time: string
  prevHash: string
  hash: string
}

export const GENESIS_HASH = '0'.repeat(64)

/** The chain position a tenant's next record continues from. */
export interface ChainHead { seq: number, hash: string }
export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH })

/**
 * RFC 8785 (JSON Canonicalization Scheme): object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings as ECMAScript's JSON.stringify writes them (which RFC 8785 adopts).
 */
export function canonicalJson (value: unknown): string {
  // As JSON.stringify does: a Date (or anything with toJSON) is written as what toJSON returns.
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON())
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for ' + String(value))
    const text = JSON.stringify(value)
    if (text === undefined) throw new TypeError('canonical JSON has no representation for ' + typeof value)
    return text
  }
  if (Array.isArray(value)) return '[' + value.map((item) => canonicalJson(item === undefined ? null : item)).join(',') + ']'
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  // String `<` compares UTF-16 code units, which is exactly what RFC 8785 §3.2.3 asks for; an
  // object's keys are unique, so two of them are never equal.
  entries.sort(([a], [b]) => (a < b ? -1 : 1))
  return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + canonicalJson(v)).join(',') + '}'
}

export function sha256Hex (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** `hash` = SHA-256 of the record without `hash`, as canonical JSON. */
export function hashRecord (record: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record))
}

/** Seals a draft onto the chain after `head`. */
export function sealRecord (draft: AuditDraft, head: ChainHead, fields: { id: string, time: string }): AuditRecord {
  const unsealed: Omit<AuditRecord, 'hash'> = {
    id: fields.id,
    tenantId: draft.tenantId,
    seq: head.seq + 1,
    time: fields.time,
    operation: draft.operation,
    result: draft.result,
    actor: { id: draft.actor.id, type: draft.actor.type },
    clientIp: draft.clientIp,
    requestId: draft.requestId,
    workload: draft.workload,
    object: draft.object,
    details: draft.details,
    prevHash: head.hash
  }
  return { ...unsealed, hash: hashRecord(unsealed) }
}

export interface ChainVerification {
  valid: boolean
  records: number
  headSeq: number
  headHash: string
  firstInvalidSeq: number | null
}

/**
 * Walks records in order and reports the first one that breaks the chain: a wrong hash, a `prevHash`
 * that is not the previous hash, or a gap or repeat in `seq`. `start` is where the walk begins (the
 * genesis, or the last pruned record's position when retention has cut the head of the chain).
 */
export class ChainVerifier {
  private head: ChainHead
  private count = 0
  private firstInvalid: number | null = null

  constructor (start: ChainHead = EMPTY_HEAD) {
    this.head = { ...start }
  }

  push (record: AuditRecord): void {
    this.count++
    if (this.firstInvalid !== null) return
    const { hash, ...rest } = record
    const expectedSeq = this.head.seq + 1
    if (record.seq !== expectedSeq || record.prevHash !== this.head.hash || hashRecord(rest) !== hash) {
      this.firstInvalid = record.seq === expectedSeq ? record.seq : expectedSeq
      return
    }
    this.head = { seq: record.seq, hash: record.hash }
  }

  result (): ChainVerification {
    return {
      valid: this.firstInvalid === null,
      records: this.count,
      headSeq: this.head.seq,
      headHash: this.head.hash,
      firstInvalidSeq: this.firstInvalid
    }
  }
}
