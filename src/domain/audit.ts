// Audit record shape (API.md §6), RFC 8785 canonical JSON and the per-tenant SHA-256 hash chain.
import { hash as oneShotHash } from 'node:crypto'
import type { AuditOperation } from './audit-operations.js'
import { InvariantChecker, type InvariantViolation } from './invariant.js'

export { AUDIT_OPERATIONS, type AuditOperation } from './audit-operations.js'

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

/**
 * A record as a store may hold it: one written by an earlier version may lack a field this one always
 * writes (`clientIp` was left out when the client was already gone). Whatever reads stored records
 * takes this type, so a missing field is handled where it is read.
 */
export type StoredAuditRecord = Omit<AuditRecord, 'clientIp' | 'requestId' | 'workload' | 'object' | 'details'> &
  Partial<Pick<AuditRecord, 'clientIp' | 'requestId' | 'workload' | 'object' | 'details'>>

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

/** The keys of a sealed record in RFC 8785 order, each with its `"key":` prefix: those before `hash`, and after it. */
const prefixed = (keys: string[]): Array<readonly [string, string]> => keys.map((key) => [key, quoted(key) + ':'] as const)
const KEYS_BEFORE_HASH = prefixed(['actor', 'clientIp', 'details'])
const KEYS_AFTER_HASH = prefixed(['id', 'object', 'operation', 'prevHash', 'requestId', 'result', 'seq', 'tenantId', 'time', 'workload'])
/** A sealed record's keys but `hash`, in sorted order. */
const RECORD_KEYS = [...KEYS_BEFORE_HASH, ...KEYS_AFTER_HASH].map(([key]) => key)

/** The canonical members of `record` named in `keys`, comma-separated (a missing one is left out, as canonicalJson does). */
function members (record: Omit<AuditRecord, 'hash'>, keys: Array<readonly [string, string]>): string {
  let out = ''
  for (const [key, prefix] of keys) {
    const value = record[key as keyof typeof record]
    if (value === undefined) continue
    if (out.length > 0) out += ','
    out += prefix + canonicalJson(value)
  }
  return out
}

export function sha256Hex (text: string): string {
  // The one-shot form costs about half of createHash's for a record-sized input.
  return oneShotHash('sha256', text, 'hex')
}

/** `hash` = SHA-256 of the record without `hash`, as canonical JSON. */
export function hashRecord (record: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record))
}

/** A sealed record and its text: the record's own canonical JSON, `hash` included. */
export interface SealedRecord {
  record: AuditRecord
  text: string
}

/** What `inCanonicalOrder` answers for a value whose JSON.stringify is not its canonical JSON. */
const NOT_PLAIN = Symbol('not plain JSON')

/**
 * The value with every object's keys in sorted order, when that makes JSON.stringify write exactly
 * what canonicalJson writes (plain objects and arrays of strings, finite numbers, booleans and null);
 * NOT_PLAIN otherwise (a toJSON, a non-finite number, a function, a class instance...). An object
 * whose keys are sorted already is returned as it is, so the usual record costs no copy.
 */
function inCanonicalOrder (value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value
    case 'number':
      return Number.isFinite(value) ? value : NOT_PLAIN
    case 'object':
      break
    default:
      return NOT_PLAIN
  }
  if (value === null) return null
  if (Array.isArray(value)) {
    const items: unknown[] = []
    for (const item of value) {
      const ordered = inCanonicalOrder(item)
      if (ordered === NOT_PLAIN || ordered === undefined) return NOT_PLAIN
      items.push(ordered)
    }
    return items
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return NOT_PLAIN
  const object = value as Record<string, unknown>
  const keys = Object.keys(object)
  let same = true
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && (keys[i - 1] as string) >= (keys[i] as string)) same = false
    const item = object[keys[i] as string]
    const ordered = inCanonicalOrder(item)
    if (ordered === NOT_PLAIN) return NOT_PLAIN
    if (ordered !== item) same = false
  }
  if (same) return object
  const sorted: Record<string, unknown> = {}
  for (const key of keys.sort()) sorted[key] = inCanonicalOrder(object[key])
  // Integer-like keys ("9", "10") are enumerated in numeric order whatever the insertion order, so
  // such an object cannot be written in code-unit order by JSON.stringify.
  return inSortedOrder(Object.keys(sorted)) ? sorted : NOT_PLAIN
}

/**
 * inCanonicalOrder for a record built as sealRecordText builds it: its own keys are in sorted order
 * by construction, so only its values are looked at, and most are strings or null. Saves walking and
 * comparing the record's fourteen keys for every record sealed.
 */
function recordInCanonicalOrder (record: Record<string, unknown>): unknown {
  let copy: Record<string, unknown> | null = null
  for (const key of RECORD_KEYS) {
    const value = record[key]
    if (typeof value === 'string' || value === null || value === undefined) continue
    const ordered = inCanonicalOrder(value)
    if (ordered === NOT_PLAIN) return NOT_PLAIN
    // Replacing a member keeps its place in the key order.
    if (ordered !== value) (copy ??= { ...record })[key] = ordered
  }
  return copy ?? record
}

function inSortedOrder (keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) >= (keys[i] as string)) return false
  return true
}

/**
 * Seals a draft onto the chain after `head`. The record is written out once: its canonical JSON
 * without `hash` is what is hashed, and the same text with `hash` in its sorted place is what a store
 * keeps, so the stored text is itself canonical and needs no second serialisation. For the usual
 * record (plain values) JSON.stringify of it in canonical key order writes that text natively.
 */
export function sealRecordText (draft: AuditDraft, head: ChainHead, fields: { id: string, time: string }): SealedRecord {
  // Built in RFC 8785 key order, `hash` in its place but not yet set: JSON.stringify leaves an
  // undefined member out, and setting it afterwards changes no key order (and copies nothing).
  const record: Omit<AuditRecord, 'hash'> & { hash: string | undefined } = {
    actor: { id: draft.actor.id, type: draft.actor.type },
    clientIp: draft.clientIp,
    details: draft.details,
    hash: undefined,
    id: fields.id,
    object: draft.object,
    operation: draft.operation,
    prevHash: head.hash,
    requestId: draft.requestId,
    result: draft.result,
    seq: head.seq + 1,
    tenantId: draft.tenantId,
    time: fields.time,
    workload: draft.workload
  }
  const ordered = recordInCanonicalOrder(record)
  if (ordered === NOT_PLAIN) return sealedByParts(record)
  const body = JSON.stringify(ordered)
  const hash = sha256Hex(body)
  record.hash = hash
  // `hash` sorts just before `id`. Everything after the top-level `"id":` is a string or number
  // whose quotes JSON escapes, so the last `,"id":` in the text is that one.
  const at = body.lastIndexOf(',"id":')
  return { record: record as AuditRecord, text: `${body.slice(0, at)},"hash":"${hash}"${body.slice(at)}` }
}

/** The same record and text, member by member through canonicalJson (which throws what has no canonical form). */
function sealedByParts (record: Omit<AuditRecord, 'hash'> & { hash: string | undefined }): SealedRecord {
  const before = members(record, KEYS_BEFORE_HASH)
  const after = members(record, KEYS_AFTER_HASH)
  // Neither part is ever empty: `actor` is always there, and so are id, seq, time and the rest.
  const hash = sha256Hex(`{${before},${after}}`)
  record.hash = hash
  return { record: record as AuditRecord, text: `{${before},"hash":"${hash}",${after}}` }
}

/** Seals a draft onto the chain after `head`. */
export function sealRecord (draft: AuditDraft, head: ChainHead, fields: { id: string, time: string }): AuditRecord {
  return sealRecordText(draft, head, fields).record
}

export interface ChainVerification {
  /** The chain is unbroken and proves the enforcement invariant. */
  valid: boolean
  records: number
  headSeq: number
  headHash: string
  /** Where the chain itself breaks (a wrong hash, prevHash or seq). */
  firstInvalidSeq: number | null
  /** ContentAccessed records sealed after the record that ended their request (the first ones). */
  invariantViolations: InvariantViolation[]
  invariantViolationCount: number
}

/**
 * Walks records in order and reports the first one that breaks the chain: a wrong hash, a `prevHash`
 * that is not the previous hash, or a gap or repeat in `seq`. `start` is where the walk begins (the
 * genesis, or the last pruned record's position when retention has cut the head of the chain).
 * The same walk checks the enforcement invariant (InvariantChecker): a chain that holds a
 * ContentAccessed after its request ended is not valid either, and names it.
 */
export class ChainVerifier {
  private head: ChainHead
  private count = 0
  private firstInvalid: number | null = null

  private readonly invariant = new InvariantChecker()

  constructor (start: ChainHead = EMPTY_HEAD) {
    this.head = { ...start }
  }

  push (record: AuditRecord): void {
    this.count++
    this.invariant.push(record)
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
    const invariant = this.invariant.result()
    return {
      valid: this.firstInvalid === null && invariant.invariantViolationCount === 0,
      records: this.count,
      headSeq: this.head.seq,
      headHash: this.head.hash,
      firstInvalidSeq: this.firstInvalid,
      ...invariant
    }
  }
}
