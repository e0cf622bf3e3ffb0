// Verifies an NDJSON audit export offline: every tenant's records must form an unbroken hash chain,
// and, against a held checkpoint, the export must still reach the checkpointed record with the same
// hash — which proves nothing was cut from its end. The walk also checks the enforcement invariant:
// no ContentAccessed for a request after the record that ended its approval.
import { ChainVerifier, GENESIS_HASH, type AuditRecord } from '../domain/audit.js'
import type { Checkpoint } from '../gateway/checkpoint.js'
import type { InvariantViolation } from '../domain/invariant.js'
import { ApprovalAuditor, type ApprovalTally } from './approvals.js'
import type { ApproverKeySet } from '../domain/approval.js'

export interface TenantReport {
  tenantId: string
  records: number
  firstSeq: number
  headSeq: number
  headHash: string
  valid: boolean
  firstInvalidSeq: number | null
  /** ContentAccessed records after the record that ended their request (the first 100), and their count. */
  invariantViolations: InvariantViolation[]
  invariantViolationCount: number
  /** Whether the export starts at the genesis of the chain (seq 1) or later (retention, or a range). */
  fromGenesis: boolean
  /** With approver keys for the tenant: its approvals, signed or not (issue 19). */
  approvals?: ApprovalTally
}

export interface ExportReport {
  valid: boolean
  tenants: TenantReport[]
  problems: string[]
  checkpoint: { tenantId: string, seq: number, reached: boolean } | null
}

/** An OCSF event carries the native record it was mapped from: that record is what the chain covers. */
interface OcsfLine { class_uid: number, unmapped?: { lockbox?: AuditRecord } }

function nativeRecord (parsed: AuditRecord | OcsfLine): AuditRecord {
  if (parsed !== null && typeof parsed === 'object' && 'class_uid' in parsed) return parsed.unmapped?.lockbox as AuditRecord
  return parsed
}

export interface ExportOptions {
  /**
   * Published approver keys (GET /v1/tenants/{id}/approver-keys) of the tenants whose approvals are
   * to be proven: each approval record of such a tenant that carries signatures must verify and meet
   * the quorum, and one made while the chain had signed approvals required must carry them.
   */
  approverKeys?: ApproverKeySet[]
}

export async function verifyExport (lines: AsyncIterable<string>, checkpoint: Checkpoint | null = null, options: ExportOptions = {}): Promise<ExportReport> {
  const approvals = new ApprovalAuditor(options.approverKeys ?? [])
  const chains = new Map<string, { verifier: ChainVerifier, firstSeq: number, fromGenesis: boolean, hashes: Map<number, string> | null }>()
  const problems: string[] = []
  let lineNo = 0
  for await (const raw of lines) {
    lineNo++
    const line = raw.trim()
    if (line === '') continue
    let record: AuditRecord
    try {
      record = nativeRecord(JSON.parse(line) as AuditRecord | OcsfLine)
    } catch {
      problems.push(`line ${lineNo}: not JSON`)
      continue
    }
    if (typeof record?.tenantId !== 'string' || typeof record.seq !== 'number' || typeof record.hash !== 'string') {
      problems.push(`line ${lineNo}: not an audit record (export as native or ocsf, not o365)`)
      continue
    }
    let chain = chains.get(record.tenantId)
    if (chain === undefined) {
      // The first record seen anchors the walk: from the genesis, or from where retention cut.
      const fromGenesis = record.seq === 1 && record.prevHash === GENESIS_HASH
      chain = {
        verifier: new ChainVerifier({ seq: record.seq - 1, hash: record.prevHash }),
        firstSeq: record.seq,
        fromGenesis,
        hashes: checkpoint?.tenantId === record.tenantId ? new Map() : null
      }
      chains.set(record.tenantId, chain)
    }
    chain.verifier.push(record)
    chain.hashes?.set(record.seq, record.hash)
    approvals.push(record)
  }
  const tenants: TenantReport[] = []
  for (const [tenantId, chain] of chains) {
    const result = chain.verifier.result()
    const tally = approvals.tally(tenantId)
    tenants.push({ tenantId, firstSeq: chain.firstSeq, fromGenesis: chain.fromGenesis, ...result, ...(tally === undefined ? {} : { approvals: tally }) })
    if (result.firstInvalidSeq !== null) problems.push(`tenant ${tenantId}: chain broken at seq ${result.firstInvalidSeq}`)
    for (const { seq, requestId, endedBySeq } of result.invariantViolations) {
      problems.push(`tenant ${tenantId}: ContentAccessed at seq ${seq} for request ${requestId} after seq ${endedBySeq} ended its approval`)
    }
    const unnamed = result.invariantViolationCount - result.invariantViolations.length
    if (unnamed > 0) problems.push(`tenant ${tenantId}: ${unnamed} more ContentAccessed after their request ended`)
  }
  problems.push(...approvals.problems)
  let reached: ExportReport['checkpoint'] = null
  if (checkpoint !== null) {
    const hashes = chains.get(checkpoint.tenantId)?.hashes
    const hash = hashes?.get(checkpoint.seq)
    reached = { tenantId: checkpoint.tenantId, seq: checkpoint.seq, reached: hash === checkpoint.hash }
    if (hash === undefined) {
      const head = tenants.find((t) => t.tenantId === checkpoint.tenantId)?.headSeq ?? 0
      problems.push(`tenant ${checkpoint.tenantId}: the export ends at seq ${head} but the checkpoint covers seq ${checkpoint.seq}: records were cut from the end`)
    } else if (hash !== checkpoint.hash) {
      problems.push(`tenant ${checkpoint.tenantId}: record ${checkpoint.seq} differs from the checkpoint`)
    }
  }
  return { valid: problems.length === 0, tenants, problems, checkpoint: reached }
}
