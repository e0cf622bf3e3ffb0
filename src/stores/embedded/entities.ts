// The lockbox entities in LMDB: requests, service requests, tenant settings and the notification
// outbox, with the orders their listings page through. `check` and `write` run inside a write
// transaction (so they see every commit before, from any process); the rest are reads.
import type { Key } from 'lmdb'
import { ConflictError } from '../../errors.js'
import { grantEnded } from '../change.js'
import { effectiveStatus, isFinal, type LockboxRequest } from '../../domain/lockbox.js'
import { dueAt, isDue } from '../../domain/outbox.js'
import { countedServiceRequestNumber, serviceRequestNumberAfter, type ServiceRequest, type TenantSettings } from '../../domain/tenant.js'
import type { OutboxMessage } from '../../notify/types.js'
import type { Change, Page, RequestQuery, VersionedPut } from '../types.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import type { Tables } from './db.js'

/** The puts of a change with their new versions. */
export interface CheckedChange {
  requests: LockboxRequest[]
  serviceRequests: ServiceRequest[]
  tenantSettings: TenantSettings | undefined
  notifications: OutboxMessage[]
}

/** Above every creation time (epoch ms): the upper end of a newest-first range. */
const TOP = Number.MAX_SAFE_INTEGER

type Status = OutboxMessage['status']
export interface NotificationQuery { status?: Status, requestId?: string, limit: number }

const parse = <T>(text: string | undefined): T | null => (text === undefined ? null : JSON.parse(text) as T)
const serviceRequestCounter = (tenantId: string): Key => ['sr', tenantId]

export class Entities {
  constructor (private readonly t: Tables) {}

  /**
   * Compare-and-set of every put against the stored versions (and against earlier puts of the same
   * entity in this change), and the grant the change requires. Throws on the first failure; writes
   * nothing.
   */
  check (change: Change): CheckedChange {
    const { t } = this
    if (change.requireApproved !== undefined) this.checkApproved(change.tenantId, change.requireApproved)
    const staged = new Map<string, number>()
    const cas = <T extends { version: number }>(key: string, stored: string | undefined, put: VersionedPut<T>): T => {
      const current = staged.get(key) ?? (stored === undefined ? 0 : (JSON.parse(stored) as T).version)
      if (put.expectedVersion !== current) {
        throw new ConflictError(`${key} is at version ${current}, the change expected ${put.expectedVersion}`)
      }
      staged.set(key, current + 1)
      return { ...put.value, version: current + 1 }
    }
    const requests = (change.requests ?? []).map((put) => cas(`request ${put.value.id}`, t.requests.get(put.value.id), put))
    const serviceRequests = (change.serviceRequests ?? []).map((put) =>
      cas(`service request ${put.value.number}`, t.serviceRequests.get([put.value.tenantId, put.value.number]), put))
    const settingsPut = change.tenantSettings
    const tenantSettings = settingsPut === undefined
      ? undefined
      : cas(`settings of ${settingsPut.value.tenantId}`, t.settings.get(settingsPut.value.tenantId), settingsPut)
    const notifications = (change.notifications ?? []).map((put) =>
      cas(`notification ${put.value.id} of ${put.value.tenantId}`, t.notifications.get([put.value.tenantId, put.value.id]), put))
    return { requests, serviceRequests, tenantSettings, notifications }
  }

  /** Writes checked values with their index entries; `ordinal` numbers new entities in first-seen order. */
  write (checked: CheckedChange, ordinal: () => number): void {
    for (const request of checked.requests) this.putRequest(request, ordinal)
    for (const serviceRequest of checked.serviceRequests) this.putServiceRequest(serviceRequest, ordinal)
    if (checked.tenantSettings !== undefined) this.t.settings.put(checked.tenantSettings.tenantId, JSON.stringify(checked.tenantSettings))
    for (const notification of checked.notifications) this.putNotification(notification, ordinal)
  }

  getRequest (id: string): LockboxRequest | null {
    return parse(this.t.requests.get(id))
  }

  listRequests (query: RequestQuery): Page<LockboxRequest> {
    const prefix = query.tenantId === undefined ? [] : [query.tenantId]
    const order = query.tenantId === undefined ? this.t.requestOrder : this.t.requestOrderOfTenant
    return newestFirst('r', order, prefix, query, (id) => this.getRequest(id) as LockboxRequest, (request) =>
      (query.requesterId === undefined || request.requester.id === query.requesterId) &&
      (query.status === undefined || effectiveStatus(request, query.now) === query.status))
  }

  listRequestsOfServiceRequest (tenantId: string, number: string): LockboxRequest[] {
    return withPrefix(this.t.requestsOfServiceRequest, [tenantId, number]).map((key) => this.getRequest(key[2] as string) as LockboxRequest)
  }

  listUnsettledRequests (): LockboxRequest[] {
    return [...this.t.unsettled.getKeys()].map((id) => this.getRequest(id as string) as LockboxRequest)
  }

  getServiceRequest (tenantId: string, number: string): ServiceRequest | null {
    return parse(this.t.serviceRequests.get([tenantId, number]))
  }

  listServiceRequests (tenantId: string, page: { limit: number, cursor?: string }): Page<ServiceRequest> {
    return newestFirst('s', this.t.serviceRequestOrder, [tenantId], page, (number) => this.getServiceRequest(tenantId, number) as ServiceRequest, () => true)
  }

  /**
   * Inside a write transaction of its own, so that no two processes hand out the same number;
   * committed numbers move the counter past them too (see putServiceRequest).
   */
  nextServiceRequestNumber (tenantId: string): string {
    const key = serviceRequestCounter(tenantId)
    const next = serviceRequestNumberAfter(this.t.counters.get(key))
    this.t.counters.put(key, next)
    return String(next)
  }

  getTenantSettings (tenantId: string): TenantSettings | null {
    return parse(this.t.settings.get(tenantId))
  }

  /** A scan of the pending ones only: sorted by when each fell due, ties oldest first (the sort is stable). */
  listDueNotifications (now: number, limit: number): OutboxMessage[] {
    const due = withPrefix(this.t.notificationsOfStatus, ['pending'])
      .map((key) => this.notification(key[3] as string, key[4] as string))
      .filter((message) => isDue(message, now))
    return due.sort((a, b) => dueAt(a) - dueAt(b)).slice(0, Math.max(1, Math.floor(limit)))
  }

  /** Newest first: of one request, else of one status, else all. */
  listNotifications (query: NotificationQuery): OutboxMessage[] {
    const limit = Math.max(1, Math.floor(query.limit))
    const [db, prefix] = query.requestId !== undefined
      ? [this.t.notificationsOfRequest, [query.requestId]]
      : query.status !== undefined ? [this.t.notificationsOfStatus, [query.status]] : [this.t.notificationOrder, []]
    const found: OutboxMessage[] = []
    for (const key of db.getKeys({ start: [...prefix, TOP], end: prefix.length === 0 ? undefined : prefix, reverse: true })) {
      const [tenantId, id] = (key as Key[]).slice(prefix.length + 2) as [string, string]
      const message = this.notification(tenantId, id)
      if (query.status !== undefined && message.status !== query.status) continue
      found.push(message)
      if (found.length === limit) break
    }
    return found
  }

  private checkApproved (tenantId: string, guard: NonNullable<Change['requireApproved']>): void {
    const ended = grantEnded(tenantId, guard, this.getRequest(guard.requestId))
    if (ended !== null) throw ended
  }

  private notification (tenantId: string, id: string): OutboxMessage {
    return parse<OutboxMessage>(this.t.notifications.get([tenantId, id])) as OutboxMessage
  }

  /** Identity fields (id, tenant, service request, createdAt) never change, so indexes are set on first sight. */
  private putRequest (request: LockboxRequest, ordinal: () => number): void {
    const { t } = this
    if (t.requests.get(request.id) === undefined) {
      const place = [Date.parse(request.createdAt), ordinal()]
      t.requestOrder.put(place, request.id)
      t.requestOrderOfTenant.put([request.tenantId, ...place], request.id)
      t.requestsOfServiceRequest.put([request.tenantId, request.serviceRequestNumber, request.id], '')
    }
    t.requests.put(request.id, JSON.stringify(request))
    if (isFinal(request.status)) t.unsettled.remove(request.id)
    else t.unsettled.put(request.id, '')
  }

  private putServiceRequest (serviceRequest: ServiceRequest, ordinal: () => number): void {
    const { t } = this
    const key = [serviceRequest.tenantId, serviceRequest.number]
    if (t.serviceRequests.get(key) === undefined) {
      t.serviceRequestOrder.put([serviceRequest.tenantId, Date.parse(serviceRequest.createdAt), ordinal()], serviceRequest.number)
      const number = countedServiceRequestNumber(serviceRequest.number)
      const counter = serviceRequestCounter(serviceRequest.tenantId)
      if (number !== null && number > (t.counters.get(counter) ?? 0)) t.counters.put(counter, number)
    }
    t.serviceRequests.put(key, JSON.stringify(serviceRequest))
  }

  /**
   * A message is placed on first sight (creation time and an ordinal) and only moves between status
   * lists after that. Index keys end in [tenantId, id], so a listing needs no second lookup for them.
   */
  private putNotification (message: OutboxMessage, ordinal: () => number): void {
    const { t } = this
    const key = [message.tenantId, message.id]
    const before = parse<OutboxMessage>(t.notifications.get(key))
    let place = t.notificationPlace.get(key)
    if (place === undefined) {
      place = [Date.parse(message.createdAt), ordinal()]
      t.notificationPlace.put(key, place)
      t.notificationOrder.put([...place, ...key], '')
      if (message.requestId !== null) t.notificationsOfRequest.put([message.requestId, ...place, ...key], '')
    }
    if (before?.status !== message.status) {
      if (before !== null) t.notificationsOfStatus.remove([before.status, ...place, ...key])
      t.notificationsOfStatus.put([message.status, ...place, ...key], '')
    }
    t.notifications.put(key, JSON.stringify(message))
  }
}

/** Every key that starts with `prefix`, in key order. */
export function withPrefix (db: Tables['requests'], prefix: Key[]): Key[][] {
  const keys: Key[][] = []
  for (const key of db.getKeys({ start: prefix })) {
    const parts = key as Key[]
    if (!prefix.every((part, index) => parts[index] === part)) break
    keys.push(parts)
  }
  return keys
}

/**
 * A newest-first page of an order whose keys are [...prefix, createdAt, ordinal] and whose values
 * are the entity's key; the cursor is the last returned entry's [createdAt, ordinal].
 */
function newestFirst<T> (kind: string, order: Tables['requests'], prefix: Key[], page: { limit: number, cursor?: string | undefined },
  get: (key: string) => T, accept: (value: T) => boolean): Page<T> {
  const limit = Math.max(1, Math.floor(page.limit))
  const from = page.cursor === undefined ? [TOP] : decodeCursor(kind, page.cursor, 2)
  const items: T[] = []
  let last: number[] = []
  for (const { key, value } of order.getRange({ start: [...prefix, ...from], end: prefix.length === 0 ? undefined : prefix, reverse: true, exclusiveStart: true })) {
    const entity = get(value)
    if (!accept(entity)) continue
    if (items.length === limit) return { items, nextCursor: encodeCursor(kind, last) }
    items.push(entity)
    last = (key as number[]).slice(prefix.length)
  }
  return { items, nextCursor: null }
}
