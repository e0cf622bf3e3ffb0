// Turns a Change into what the commit script needs: the version checks, the values to write with
// their new versions, the index entries, and the grant events to publish once it commits. Pure: it
// reads nothing; the script decides against the stored versions.
import { iso, isFinal, type LockboxRequest, type RequestStatus } from '../../domain/lockbox.js'
import { dueAt } from '../../domain/outbox.js'
import { countedServiceRequestNumber } from '../../domain/tenant.js'
import { ConflictError } from '../../errors.js'
import type { OutboxMessage } from '../../notify/types.js'
import type { Change, VersionedPut } from '../types.js'
import { encodeId, sortableMs, type RedisKeys } from './keys.js'
import { assertOneTenant } from '../change.js'

const NOTIFICATION_STATUSES: Array<OutboxMessage['status']> = ['pending', 'sent', 'dead']

export interface PlannedWrite { key: string, version: number, json: string, status?: RequestStatus }

export interface PlannedChange {
  /** First expected version of every entity the change puts. */
  checks: Array<{ key: string, expected: number }>
  /** The last value of every entity, with its new version. */
  writes: PlannedWrite[]
  /** Members to add: scored when `score` is given (as text, so Lua never rounds it), else at 0 for lexicographic sets. */
  zadds: Array<{ key: string, member: string, score?: string }>
  /** Sorted set members to remove, after the change's adds. */
  zrems: Array<{ key: string, member: string }>
  sadds: Array<{ key: string, member: string }>
  srems: Array<{ key: string, member: string }>
  /** Service request counters to raise to at least `number`. */
  counters: Array<{ key: string, number: string }>
  /** The change's grant events (decided by the workflow): published by the script if it commits. */
  grantEvents: Array<{ requestId: string, status: RequestStatus }>
  /** Requests created by the change: registered across tenants before the commit. */
  created: LockboxRequest[]
  /** The grant that must still be Approved (Change.requireApproved): its key, and now as ISO text. */
  guard?: { key: string, now: string }
}

/** The member of a lexicographic creation-order set: creation time, then the encoded parts. */
export function creationMember (createdAt: string, ...parts: string[]): string {
  return [sortableMs(Date.parse(createdAt)), ...parts.map(encodeId)].join(':')
}

export function planChange (change: Change, keys: RedisKeys): PlannedChange {
  assertOneTenant(change)
  const tenantId = change.tenantId
  const plan: PlannedChange = {
    checks: [],
    writes: [],
    zadds: [],
    zrems: [],
    sadds: [],
    srems: [],
    counters: [],
    grantEvents: (change.grantEvents ?? []).map(({ requestId, status }) => ({ requestId, status })),
    created: []
  }
  const written = new Map<string, PlannedWrite>()
  if (change.requireApproved !== undefined) {
    plan.guard = { key: keys.request(tenantId, change.requireApproved.requestId), now: iso(change.requireApproved.now) }
  }

  /** Later puts of one entity in the same change must follow on from the earlier ones. */
  function put<T extends { version: number }> (key: string, { value, expectedVersion }: VersionedPut<T>): PlannedWrite {
    const earlier = written.get(key)
    if (earlier === undefined) plan.checks.push({ key, expected: expectedVersion })
    else if (earlier.version !== expectedVersion) throw new ConflictError(`${key} is at version ${earlier.version} in this change, a put expected ${expectedVersion}`)
    const version = expectedVersion + 1
    const write: PlannedWrite = { key, version, json: JSON.stringify({ ...value, version }) }
    if (earlier === undefined) plan.writes.push(write)
    else plan.writes[plan.writes.indexOf(earlier)] = write
    written.set(key, write)
    return write
  }

  /** Each request's last status in this change, by request id. */
  const lastStatus = new Map<string, RequestStatus>()
  for (const requestPut of change.requests ?? []) {
    const request = requestPut.value
    const key = keys.request(tenantId, request.id)
    if (!written.has(key) && requestPut.expectedVersion === 0) plan.created.push(request)
    put(key, requestPut).status = request.status
    lastStatus.set(request.id, request.status)
    plan.zadds.push({ key: keys.requests(tenantId), member: creationMember(request.createdAt, request.id) })
    plan.sadds.push({ key: keys.requestsOfServiceRequest(tenantId, request.serviceRequestNumber), member: request.id })
  }
  // The last put of each request decides whether the sweeper still has to look at it.
  for (const [requestId, status] of lastStatus) {
    const unsettled = { key: keys.unsettled(tenantId), member: requestId }
    if (isFinal(status)) plan.srems.push(unsettled)
    else plan.sadds.push(unsettled)
  }
  for (const serviceRequestPut of change.serviceRequests ?? []) {
    const serviceRequest = serviceRequestPut.value
    put(keys.serviceRequest(tenantId, serviceRequest.number), serviceRequestPut)
    plan.zadds.push({ key: keys.serviceRequests(tenantId), member: creationMember(serviceRequest.createdAt, serviceRequest.number) })
    if (countedServiceRequestNumber(serviceRequest.number) !== null) plan.counters.push({ key: keys.serviceRequestCounter(tenantId), number: serviceRequest.number })
  }
  if (change.tenantSettings !== undefined) put(keys.settings(tenantId), change.tenantSettings)
  const notifications = new Map<string, OutboxMessage>()
  for (const notificationPut of change.notifications ?? []) {
    const key = keys.notification(tenantId, notificationPut.value.id)
    put(key, notificationPut)
    notifications.set(key, notificationPut.value)
  }
  // The last put of each message decides its status entry and whether it waits in the due set.
  for (const message of notifications.values()) {
    const created = creationMember(message.createdAt, message.id)
    plan.zadds.push({ key: keys.notifications(tenantId), member: created })
    if (message.requestId !== null) plan.zadds.push({ key: keys.notificationsByRequest(tenantId), member: `${encodeId(message.requestId)}:${created}` })
    for (const status of NOTIFICATION_STATUSES) {
      const entry = { key: keys.notificationsByStatus(tenantId), member: `${status}:${created}` }
      if (status === message.status) plan.zadds.push(entry)
      else plan.zrems.push(entry)
    }
    const due = { key: keys.notificationsDue(tenantId), member: message.id }
    if (message.status === 'pending') plan.zadds.push({ ...due, score: String(dueAt(message)) })
    else plan.zrems.push(due)
  }
  return plan
}
