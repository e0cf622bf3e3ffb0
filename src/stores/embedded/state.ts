// The lockbox entities in memory: current values, their versions, and the indexes the queries use.
// Values are stored frozen, exactly as parsed from their journal line, so a value read before a
// restart and after it are the same.
import { ConflictError } from '../../errors.js'
import type { AuditRecord } from '../../domain/audit.js'
import { effectiveStatus, isFinal, type LockboxRequest, type RequestStatus } from '../../domain/lockbox.js'
import type { ServiceRequest, TenantSettings } from '../../domain/tenant.js'
import type { OutboxMessage } from '../../notify/types.js'
import type { Change, GrantEvent, Page, RequestQuery, VersionedPut } from '../types.js'
import type { Kept } from './lines.js'
import { NewestFirst } from './newest-first.js'
import { notificationKey, NotificationState, type NotificationQuery } from './notifications.js'

/** One journal line: the new values of one commit and the audit records it sealed. */
export interface JournalEntry {
  tenantId: string
  requests?: LockboxRequest[]
  serviceRequests?: ServiceRequest[]
  tenantSettings?: TenantSettings
  notifications?: OutboxMessage[]
  audit?: AuditRecord[]
}

/** The puts of a change with their new versions, and the requests it moves out of Approved. */
export interface CheckedChange {
  requests: LockboxRequest[]
  serviceRequests: ServiceRequest[]
  tenantSettings: TenantSettings | undefined
  notifications: OutboxMessage[]
  leftApproved: GrantEvent[]
}

const FIRST_SERVICE_REQUEST_NUMBER = 100001

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

const srKey = (tenantId: string, number: string): string => tenantId + '\n' + number

export class EntityState {
  private readonly requests = new Map<string, LockboxRequest>()
  private readonly requestOrder = new NewestFirst('r')
  private readonly requestOrderOfTenant = new Map<string, NewestFirst>()
  private readonly requestsOfServiceRequest = new Map<string, Set<string>>()
  private readonly unsettled = new Set<string>()
  private readonly serviceRequests = new Map<string, ServiceRequest>()
  private readonly serviceRequestOrderOfTenant = new Map<string, NewestFirst>()
  private readonly settings = new Map<string, TenantSettings>()
  private readonly notifications = new NotificationState()
  /** Highest service request number committed or handed out, per tenant. */
  private readonly lastNumber = new Map<string, number>()
  private ordinal = 0

  /**
   * Compare-and-set of every put against the current versions (and against earlier puts of the same
   * entity in this change). Throws ConflictError on the first stale one; changes nothing.
   */
  check (change: Change): CheckedChange {
    const staged = new Map<string, number>()
    const cas = <T extends { version: number }>(key: string, stored: T | undefined, put: VersionedPut<T>): T => {
      const current = staged.get(key) ?? stored?.version ?? 0
      if (put.expectedVersion !== current) {
        throw new ConflictError(`${key} is at version ${current}, the change expected ${put.expectedVersion}`)
      }
      staged.set(key, current + 1)
      return { ...put.value, version: current + 1 }
    }
    const statusBefore = new Map<string, RequestStatus | undefined>()
    const leftApproved: GrantEvent[] = []
    const requests = (change.requests ?? []).map((put) => {
      const { id } = put.value
      const stored = this.requests.get(id)
      const before = statusBefore.has(id) ? statusBefore.get(id) : stored?.status
      const value = cas(`request ${id}`, stored, put)
      statusBefore.set(id, value.status)
      if (before === 'Approved' && value.status !== 'Approved') leftApproved.push({ requestId: id, tenantId: value.tenantId, status: value.status })
      return value
    })
    const serviceRequests = (change.serviceRequests ?? []).map((put) => {
      const key = srKey(put.value.tenantId, put.value.number)
      return cas(`service request ${put.value.number}`, this.serviceRequests.get(key), put)
    })
    const settingsPut = change.tenantSettings
    const tenantSettings = settingsPut === undefined
      ? undefined
      : cas(`settings of ${settingsPut.value.tenantId}`, this.settings.get(settingsPut.value.tenantId), settingsPut)
    const notifications = (change.notifications ?? []).map((put) => {
      const key = notificationKey(put.value.tenantId, put.value.id)
      return cas(`notification ${put.value.id} of ${put.value.tenantId}`, this.notifications.get(key), put)
    })
    return { requests, serviceRequests, tenantSettings, notifications, leftApproved }
  }

  /** Applies a journal entry's values: from a commit that passed `check`, or from replay. */
  apply (entry: JournalEntry): void {
    for (const request of entry.requests ?? []) this.putRequest(deepFreeze(request))
    for (const serviceRequest of entry.serviceRequests ?? []) this.putServiceRequest(deepFreeze(serviceRequest))
    if (entry.tenantSettings !== undefined) this.settings.set(entry.tenantSettings.tenantId, deepFreeze(entry.tenantSettings))
    for (const notification of entry.notifications ?? []) this.notifications.put(deepFreeze(notification), () => this.ordinal++)
  }

  /** Values carried into a compacted journal. */
  applyKept (kept: Kept): void {
    this.apply({ tenantId: '', requests: kept.requests, serviceRequests: kept.serviceRequests, notifications: kept.notifications })
    for (const settings of kept.tenantSettings ?? []) this.settings.set(settings.tenantId, deepFreeze(settings))
  }

  /**
   * Every current value, for a compacted journal; in first-seen order, so that a replay gives ties
   * in creation time the same order. The values are frozen: the lists stay as they are now.
   */
  entities (): Required<Omit<Kept, 'audit'>> {
    return {
      requests: [...this.requests.values()],
      serviceRequests: [...this.serviceRequests.values()],
      tenantSettings: [...this.settings.values()],
      notifications: this.notifications.values()
    }
  }

  getRequest (id: string): LockboxRequest | null {
    return this.requests.get(id) ?? null
  }

  listRequests (query: RequestQuery): Page<LockboxRequest> {
    const order = query.tenantId === undefined ? this.requestOrder : this.requestOrderOfTenant.get(query.tenantId)
    return (order ?? new NewestFirst('r')).page(query, (id) => this.requests.get(id) as LockboxRequest, (request) =>
      (query.requesterId === undefined || request.requester.id === query.requesterId) &&
      (query.status === undefined || effectiveStatus(request, query.now) === query.status))
  }

  listRequestsOfServiceRequest (tenantId: string, number: string): LockboxRequest[] {
    const ids = this.requestsOfServiceRequest.get(srKey(tenantId, number)) ?? []
    return [...ids].map((id) => this.requests.get(id) as LockboxRequest)
  }

  listUnsettledRequests (): LockboxRequest[] {
    return [...this.unsettled].map((id) => this.requests.get(id) as LockboxRequest)
  }

  getServiceRequest (tenantId: string, number: string): ServiceRequest | null {
    return this.serviceRequests.get(srKey(tenantId, number)) ?? null
  }

  listServiceRequests (tenantId: string, page: { limit: number, cursor?: string }): Page<ServiceRequest> {
    const order = this.serviceRequestOrderOfTenant.get(tenantId) ?? new NewestFirst('s')
    return order.page(page, (key) => this.serviceRequests.get(key) as ServiceRequest, () => true)
  }

  /** Numbers handed out are remembered until restart; committed ones for good, through the journal. */
  nextServiceRequestNumber (tenantId: string): string {
    const next = (this.lastNumber.get(tenantId) ?? FIRST_SERVICE_REQUEST_NUMBER - 1) + 1
    this.lastNumber.set(tenantId, next)
    return String(next)
  }

  getTenantSettings (tenantId: string): TenantSettings | null {
    return this.settings.get(tenantId) ?? null
  }

  listDueNotifications (now: number, limit: number): OutboxMessage[] {
    return this.notifications.listDue(now, limit)
  }

  listNotifications (query: NotificationQuery): OutboxMessage[] {
    return this.notifications.list(query)
  }

  /** Identity fields (id, tenant, service request, createdAt) never change, so indexes are set on first sight. */
  private putRequest (request: LockboxRequest): void {
    if (!this.requests.has(request.id)) {
      const ordinal = this.ordinal++
      const time = Date.parse(request.createdAt)
      this.requestOrder.insert(request.id, time, ordinal)
      this.orderOf(this.requestOrderOfTenant, request.tenantId, 'r').insert(request.id, time, ordinal)
      const key = srKey(request.tenantId, request.serviceRequestNumber)
      const ids = this.requestsOfServiceRequest.get(key) ?? new Set()
      this.requestsOfServiceRequest.set(key, ids.add(request.id))
    }
    this.requests.set(request.id, request)
    if (isFinal(request.status)) this.unsettled.delete(request.id)
    else this.unsettled.add(request.id)
  }

  private putServiceRequest (serviceRequest: ServiceRequest): void {
    const key = srKey(serviceRequest.tenantId, serviceRequest.number)
    if (!this.serviceRequests.has(key)) {
      this.orderOf(this.serviceRequestOrderOfTenant, serviceRequest.tenantId, 's').insert(key, Date.parse(serviceRequest.createdAt), this.ordinal++)
      const number = Number(serviceRequest.number)
      const last = this.lastNumber.get(serviceRequest.tenantId) ?? 0
      if (Number.isSafeInteger(number) && number > last) this.lastNumber.set(serviceRequest.tenantId, number)
    }
    this.serviceRequests.set(key, serviceRequest)
  }

  private orderOf (orders: Map<string, NewestFirst>, tenantId: string, kind: string): NewestFirst {
    let order = orders.get(tenantId)
    if (order === undefined) {
      order = new NewestFirst(kind)
      orders.set(tenantId, order)
    }
    return order
  }
}
