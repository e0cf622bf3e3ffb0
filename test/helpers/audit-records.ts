// Builds a realistic sealed chain of audit records without a store, for tests of the pure audit code.
import { EMPTY_HEAD, sealRecord, type AuditDraft, type AuditRecord, type ChainHead } from '../../src/domain/audit.js'

export function draftFor (tenantId: string, i: number, fields: Partial<AuditDraft> = {}): AuditDraft {
  return {
    tenantId,
    operation: i % 3 === 0 ? 'ContentAccessed' : 'LockboxRequestCreated',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    clientIp: '127.0.0.1',
    requestId: `req-${i % 4}`,
    workload: i % 3 === 0 ? 'exchange' : null,
    object: `/mailboxes/alice@contoso.com/messages/${i}`,
    details: { n: i },
    ...fields
  }
}

export function chain (tenantId: string, count: number, start: ChainHead = EMPTY_HEAD, t0 = Date.parse('2026-11-24T09:00:00.000Z')): AuditRecord[] {
  const records: AuditRecord[] = []
  let head = start
  for (let i = 0; i < count; i++) {
    const record = sealRecord(draftFor(tenantId, start.seq + i), head, { id: `${tenantId}-${start.seq + i + 1}`, time: new Date(t0 + i * 1000).toISOString() })
    records.push(record)
    head = record
  }
  return records
}

export async function * linesOf (records: unknown[]): AsyncGenerator<string> {
  for (const record of records) yield typeof record === 'string' ? record : JSON.stringify(record)
}

/**
 * What every refusal summary record holds besides its details: a ContentAccessDenied by no one
 * known, for no request and no object (see src/gateway/refusal-summaries.ts).
 */
export function summaryRecordHead (tenantId: string, clientIp: string | null, workload: string | null): Omit<AuditDraft, 'details'> {
  return { tenantId, operation: 'ContentAccessDenied', result: 'Denied', actor: { id: 'unknown', type: 'SupportEngineer' }, clientIp, requestId: null, workload, object: null }
}
