// Every Redis key and channel name the store uses, built here and nowhere else. A tenant's keys
// carry the tenant as a hash tag (`lockbox:{contoso}:…`) so that in a Redis Cluster they share one
// slot and one Lua script can touch all of them atomically. The few keys that span tenants carry
// the tag `{#}`, which no encoded tenant id can spell.

/** Ids go into keys URI-encoded: no `{`, `}` or `:` survives, so ids can neither break a hash tag nor a member's fields. */
export const encodeId = (id: string): string => encodeURIComponent(id)
export const decodeId = (text: string): string => decodeURIComponent(text)

/** Creation times sort as text in lexicographic sorted sets: fixed width, never negative. */
export function sortableMs (ms: number): string {
  return String(Math.max(0, Math.trunc(ms))).padStart(15, '0')
}

/** Sequence numbers in member names, fixed width so that text order is numeric order. */
export function sortableSeq (seq: number): string {
  return String(seq).padStart(16, '0')
}

/** An audit stream entry id: the record's time in ms and its seq, so time ranges are id ranges. */
export function entryId (ms: number, seq: number): string {
  return `${ms}-${seq}`
}

export class RedisKeys {
  constructor (readonly namespace: string = 'lockbox') {}

  private tenant (tenantId: string): string {
    return `${this.namespace}:{${encodeId(tenantId)}}`
  }

  private global (name: string): string {
    return `${this.namespace}:{#}:${name}`
  }

  /** Hash `v` (version), `j` (JSON), `s` (status): one lockbox request. */
  request (tenantId: string, id: string): string {
    return `${this.tenant(tenantId)}:request:${encodeId(id)}`
  }

  /** Hash `v`, `j`: one service request. */
  serviceRequest (tenantId: string, number: string): string {
    return `${this.tenant(tenantId)}:service-request:${encodeId(number)}`
  }

  /** Hash `v`, `j`: the tenant's settings. */
  settings (tenantId: string): string {
    return `${this.tenant(tenantId)}:settings`
  }

  /** Lexicographic sorted set of `createdAt:id`: the tenant's requests in creation order. */
  requests (tenantId: string): string {
    return `${this.tenant(tenantId)}:requests`
  }

  /** Lexicographic sorted set of `createdAt:number`. */
  serviceRequests (tenantId: string): string {
    return `${this.tenant(tenantId)}:service-requests`
  }

  /** Set of the request ids filed under one service request. */
  requestsOfServiceRequest (tenantId: string, number: string): string {
    return `${this.tenant(tenantId)}:service-request-requests:${encodeId(number)}`
  }

  /** Set of the ids of requests whose stored status is not final. */
  unsettled (tenantId: string): string {
    return `${this.tenant(tenantId)}:unsettled`
  }

  /** The highest service request number handed out or committed. */
  serviceRequestCounter (tenantId: string): string {
    return `${this.tenant(tenantId)}:service-request-counter`
  }

  /** Hash `v`, `j`: one outbox message (notification). */
  notification (tenantId: string, id: string): string {
    return `${this.tenant(tenantId)}:notification:${encodeId(id)}`
  }

  /** Lexicographic sorted set of `createdAt:id`: the tenant's notifications in creation order. */
  notifications (tenantId: string): string {
    return `${this.tenant(tenantId)}:notifications`
  }

  /** Lexicographic sorted set of `status:createdAt:id`: pending and dead ones are found without walking past the sent. */
  notificationsByStatus (tenantId: string): string {
    return `${this.tenant(tenantId)}:notifications-by-status`
  }

  /** Lexicographic sorted set of `requestId:createdAt:id`: the notifications of each lockbox request. */
  notificationsByRequest (tenantId: string): string {
    return `${this.tenant(tenantId)}:notifications-by-request`
  }

  /** Sorted set of the ids of pending notifications, scored by when each falls due: max(nextAttemptAt, leaseUntil). */
  notificationsDue (tenantId: string): string {
    return `${this.tenant(tenantId)}:notifications-due`
  }

  /** Stream of the tenant's audit records; entry id `time-seq`, fields r (JSON), o, a, q. */
  auditStream (tenantId: string): string {
    return `${this.tenant(tenantId)}:audit`
  }

  /** Lexicographic sorted set of `requestId:seq:time`: the records of each request, in seq order. */
  auditByRequest (tenantId: string): string {
    return `${this.tenant(tenantId)}:audit-by-request`
  }

  /** Hash `seq`, `hash`, `ms`: the last record sealed onto the chain (kept when pruned). */
  auditHead (tenantId: string): string {
    return `${this.tenant(tenantId)}:audit-head`
  }

  /** Hash `seq`, `hash`: the last pruned record, where verification starts. */
  auditAnchor (tenantId: string): string {
    return `${this.tenant(tenantId)}:audit-anchor`
  }

  /** Hash `v`, `j`: where a SIEM sink stands in the tenant's chain, and who delivers it (src/siem). */
  siemCursor (tenantId: string, sink: string): string {
    return `${this.tenant(tenantId)}:siem-cursor:${encodeId(sink)}`
  }

  /** Set of every tenant with stored data: cross-tenant reads visit these. */
  tenants (): string {
    return this.global('tenants')
  }

  /** Hash request id → tenant: getRequest is asked by id alone. */
  requestTenants (): string {
    return this.global('request-tenants')
  }

  /** Lexicographic sorted set of `createdAt:tenant:id` over all tenants. */
  allRequests (): string {
    return this.global('requests')
  }

  grantChannel (): string {
    return `${this.namespace}:grant-events`
  }

  auditChannel (): string {
    return `${this.namespace}:audit-records`
  }

  /**
   * Where @fastify/rate-limit's counters of the refusal budget start (it appends `addr:…` or
   * `tenant:…`). No hash tag: each counter is a key of its own, so a cluster spreads them.
   */
  refusalBudgetPrefix (): string {
    return `${this.namespace}:refusal-budget:`
  }
}
