// Maps our audit records onto the Office 365 Management Activity API common schema, for SIEMs that
// already ingest Microsoft's feed. Our own fields ride along with a `Lockbox` prefix so nothing is lost.
import type { AuditActorType, StoredAuditRecord } from './audit.js'

/**
 * RecordType (AuditLogRecordType): content reads of mail are ExchangeItem (2), of files
 * SharePointFileOperation (6); the approval workflow is recorded like Microsoft 365 records its own
 * lockbox decisions, as Exchange admin cmdlets (ExchangeAdmin, 1).
 */
const RECORD_TYPE = { workflow: 1, mail: 2, files: 6 } as const

/** UserType: provider staff are datacenter operators (DcAdmin, 3), customer approvers Admin (2). */
const USER_TYPE: Record<AuditActorType, number> = {
  CustomerUser: 0,
  CustomerApprover: 2,
  SupportEngineer: 3,
  SupportManager: 3,
  System: 4
}

const WORKLOAD_NAMES: Record<string, string> = { exchange: 'Exchange', sharepoint: 'SharePoint', onedrive: 'OneDrive' }

const CONTENT_OPERATIONS = new Set(['ContentAccessed', 'ContentAccessCompleted', 'ContentAccessDenied'])

export interface O365Record {
  CreationTime: string
  Id: string
  Operation: string
  OrganizationId: string
  RecordType: number
  ResultStatus: string
  UserKey: string
  UserType: number
  Version: 1
  Workload: string
  ClientIP: string
  ObjectId: string
  UserId: string
  LockboxRequestId: string | null
  LockboxSeq: number
  LockboxResult: string
  LockboxDetails: Record<string, unknown>
  LockboxPrevHash: string
  LockboxHash: string
}

/**
 * Any record a store can hold maps, including one written without a field this version always
 * writes (an older record without `clientIp`): a field that is not there maps like a null one.
 */
export function toO365 (record: StoredAuditRecord): O365Record {
  const workload = record.workload ?? null
  const content = CONTENT_OPERATIONS.has(record.operation)
  const recordType = !content ? RECORD_TYPE.workflow : workload === 'exchange' ? RECORD_TYPE.mail : RECORD_TYPE.files
  return {
    // Microsoft writes UTC without a zone designator or fraction.
    CreationTime: record.time.slice(0, 19),
    Id: record.id,
    Operation: record.operation,
    OrganizationId: record.tenantId,
    RecordType: recordType,
    ResultStatus: record.result === 'Success' ? 'Succeeded' : 'Failed',
    UserKey: record.actor.id,
    // An actor type this version does not know is nobody's role to claim: a system actor.
    UserType: USER_TYPE[record.actor.type] ?? USER_TYPE.System,
    Version: 1,
    Workload: workload === null ? 'CustomerLockbox' : (WORKLOAD_NAMES[workload] ?? workload),
    ClientIP: record.clientIp ?? '',
    ObjectId: record.object ?? '',
    UserId: record.actor.id,
    LockboxRequestId: record.requestId ?? null,
    LockboxSeq: record.seq,
    LockboxResult: record.result,
    LockboxDetails: record.details ?? {},
    LockboxPrevHash: record.prevHash,
    LockboxHash: record.hash
  }
}
