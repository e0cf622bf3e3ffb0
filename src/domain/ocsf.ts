// Maps our audit records onto OCSF 1.3 (Open Cybersecurity Schema Framework), the schema AWS Security
// Lake, Splunk and others ingest natively. Content access is Web Resources Activity (6001): the
// resources are the tenant's mail and files, read through the gateway. Every workflow step is API
// Activity (6003): it is a call on the lockbox API (or the gateway acting on its own). The native
// record rides along whole in `unmapped.lockbox`, so a record found in a SIEM can be hashed and
// checked against the chain (docs/audit.md, "OCSF").
import type { AuditActorType, AuditOperation, StoredAuditRecord } from './audit.js'

export const OCSF_VERSION = '1.3.0'
export const OCSF_PRODUCT = { name: 'Lockbox Gateway', vendor_name: 'Lockbox Gateway' } as const

const CATEGORY = { uid: 6, name: 'Application Activity' } as const
export const WEB_RESOURCES_ACTIVITY = { uid: 6001, name: 'Web Resources Activity' } as const
export const API_ACTIVITY = { uid: 6003, name: 'API Activity' } as const

const ACTIVITY_NAMES: Record<number, string> = { 0: 'Unknown', 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' }

/** Web Resources Activity: the HTTP method says what was done to the resource. */
const METHOD_ACTIVITY: Record<string, number> = { GET: 2, HEAD: 2, OPTIONS: 2, POST: 1, PUT: 3, PATCH: 3, DELETE: 4 }

/** API Activity: opening things creates them, every decision updates the request, a notice is Other. */
const WORKFLOW_ACTIVITY: Partial<Record<AuditOperation, number>> = {
  ServiceRequestOpened: 1,
  LockboxRequestCreated: 1,
  LockboxAccessTokenIssued: 1,
  ApproversNotified: 99
}
const UPDATE = 3

/** user.type_id: provider staff have no OCSF type of their own (Other, named); approvers administer their tenant. */
const USER_TYPES: Record<AuditActorType, { type_id: number, type: string }> = {
  CustomerUser: { type_id: 1, type: 'User' },
  CustomerApprover: { type_id: 2, type: 'Admin' },
  SupportEngineer: { type_id: 99, type: 'SupportEngineer' },
  SupportManager: { type_id: 99, type: 'SupportManager' },
  System: { type_id: 3, type: 'System' }
}

const CONTENT_OPERATIONS = new Set<string>(['ContentAccessed', 'ContentAccessCompleted', 'ContentAccessDenied'])

/** severity_id: a success is Informational, a refused access Medium (someone tried), any other failure Low. */
const SEVERITY: Record<string, { severity_id: number, severity: string }> = {
  Success: { severity_id: 1, severity: 'Informational' },
  Failure: { severity_id: 2, severity: 'Low' },
  Denied: { severity_id: 3, severity: 'Medium' }
}

export interface OcsfRecord {
  class_uid: number
  class_name: string
  category_uid: number
  category_name: string
  activity_id: number
  activity_name: string
  type_uid: number
  type_name: string
  time: number
  severity_id: number
  severity: string
  status_id: number
  status: string
  status_detail?: string
  message: string
  metadata: {
    version: string
    product: { name: string, vendor_name: string, feature?: { name: string } }
    uid: string
    sequence: number
    tenant_uid: string
    correlation_uid?: string
    event_code: string
    log_name: string
    original_time: string
  }
  actor: { user: { uid: string, name: string, type_id: number, type: string } }
  src_endpoint: { ip: string } | { name: string }
  [key: string]: unknown
  unmapped: { lockbox: StoredAuditRecord }
}

function activityOf (record: StoredAuditRecord, content: boolean): number {
  if (content) {
    const method = record.details?.method
    return typeof method === 'string' ? (METHOD_ACTIVITY[method.toUpperCase()] ?? 99) : 0
  }
  return WORKFLOW_ACTIVITY[record.operation] ?? UPDATE
}

/**
 * Any record a store can hold maps, including one written without a field this version always
 * writes: a field that is not there maps like a null one, and an unknown actor type or result is
 * mapped as the least it could be (Other, a failure).
 */
export function toOcsf (record: StoredAuditRecord): OcsfRecord {
  const content = CONTENT_OPERATIONS.has(record.operation)
  const cls = content ? WEB_RESOURCES_ACTIVITY : API_ACTIVITY
  const activityId = activityOf(record, content)
  const activityName = activityId === 99 ? record.operation : ACTIVITY_NAMES[activityId] as string
  const success = record.result === 'Success'
  const workload = record.workload ?? null
  const requestId = record.requestId ?? null
  const object = record.object ?? null
  const details = record.details ?? {}
  const user = USER_TYPES[record.actor.type] ?? { type_id: 99, type: String(record.actor.type) }
  const event: OcsfRecord = {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: CATEGORY.uid,
    category_name: CATEGORY.name,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: cls.uid * 100 + activityId,
    type_name: `${cls.name}: ${activityName}`,
    time: Date.parse(record.time),
    ...(SEVERITY[record.result] ?? SEVERITY.Failure as { severity_id: number, severity: string }),
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    ...(success || record.result === 'Failure' ? {} : { status_detail: record.result }),
    message: `${record.operation} (${record.result})${object === null ? '' : ` ${object}`}`,
    metadata: {
      version: OCSF_VERSION,
      product: { ...OCSF_PRODUCT, ...(workload === null ? {} : { feature: { name: workload } }) },
      uid: record.id,
      sequence: record.seq,
      tenant_uid: record.tenantId,
      ...(requestId === null ? {} : { correlation_uid: requestId }),
      event_code: record.operation,
      log_name: 'audit',
      original_time: record.time
    },
    actor: { user: { uid: record.actor.id, name: record.actor.id, ...user } },
    // A record the gateway writes on its own (a sweep, a notice) has no client: its source is the gateway.
    src_endpoint: typeof record.clientIp === 'string' ? { ip: record.clientIp } : { name: OCSF_PRODUCT.name },
    unmapped: { lockbox: record }
  }
  if (content) {
    // A refusal summary names no single object: the resource is then the workload it tried.
    const resource: Record<string, string> = object === null ? { type: workload ?? 'content', name: workload ?? 'content' } : { type: workload ?? 'content', uid: object }
    event.web_resources = [resource]
    if (typeof details.method === 'string') {
      // OCSF knows the standard methods only: another one is said by the activity (Other), not here.
      const method = details.method.toUpperCase()
      event.http_request = { ...(method in METHOD_ACTIVITY || method === 'CONNECT' || method === 'TRACE' ? { http_method: method } : {}), ...(object === null ? {} : { url: { path: object } }) }
    }
    if (typeof details.status === 'number') event.http_response = { code: details.status }
  } else {
    event.api = {
      operation: record.operation,
      service: { name: 'Customer Lockbox' },
      ...(requestId === null ? {} : { request: { uid: requestId } })
    }
    if (object !== null) event.resources = [{ uid: object, type: requestId === object ? 'LockboxRequest' : 'Object' }]
  }
  return event
}
