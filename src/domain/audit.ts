// Audit record shape (API.md §6), RFC 8785 canonical JSON and the per-tenant SHA-256 hash chain.
import { hash as oneShotHash } from 'node:crypto'

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
  // Written out by hand: every audit record is hashed over this on the hot path.
  switch (typeof value) {
    case 'string':
      return quoted(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for ' + String(value))
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw new TypeError('canonical JSON has no representation for ' + typeof value)
  }
  if (value === null) return 'null'
  // As JSON.stringify does: a Date (or anything with toJSON) is written as what toJSON returns.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON: () => unknown }).toJSON())
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += value[i] === undefined ? 'null' : canonicalJson(value[i])
    }
    return out + ']'
  }
  const object = value as Record<string, unknown>
  // The default sort compares UTF-16 code units, which is exactly what RFC 8785 §3.2.3 asks for.
  const keys = Object.keys(object).sort()
  let out = '{'
  for (const key of keys) {
    const item = object[key]
    if (item === undefined) continue
    if (out.length > 1) out += ','
    out += quoted(key) + ':' + canonicalJson(item)
  }
  return out + '}'
}

/** A string with nothing JSON.stringify would escape (quote, backslash, controls, surrogates). */
// eslint-disable-next-line no-control-regex -- the control characters are exactly what JSON escapes
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

/** As JSON.stringify writes a string; most strings need no escape, and a test is cheaper than the call. */
function quoted (text: string): string {
  return PLAIN.test(text) ? '"' + text + '"' : JSON.stringify(text)
}

/** The keys of a record sealRecord builds, in RFC 8785 order, each with its `"key":` prefix. */
const SEALED_KEYS = ['actor', 'clientIp', 'details', 'id', 'object', 'operation', 'prevHash', 'requestId', 'result', 'seq', 'tenantId', 'time', 'workload']
  .map((key) => [key, quoted(key) + ':'] as const)

/** canonicalJson of a record built by sealRecord (exactly those keys), without sorting them again. */
function canonicalSealable (record: Omit<AuditRecord, 'hash'>): string {
  let out = '{'
  for (const [key, prefix] of SEALED_KEYS) {
    const value = record[key as keyof typeof record]
    if (value === undefined) continue
    if (out.length > 1) out += ','
    out += prefix + canonicalJson(value)
  }
  return out + '}'
}

export function sha256Hex (text: string): string {
  // The one-shot form costs about half of createHash's for a record-sized input.
  return oneShotHash('sha256', text, 'hex')
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
  return { ...unsealed, hash: sha256Hex(canonicalSealable(unsealed)) }
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
