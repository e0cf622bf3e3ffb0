// The lockbox store's reads on Redis: values by key, newest-first pages walked backwards through
// the creation-order sets, and the sweeper's work list.
import { effectiveStatus, type LockboxRequest } from '../../domain/lockbox.js'
import type { ServiceRequest, TenantSettings } from '../../domain/tenant.js'
import type { Page, RequestQuery } from '../types.js'
import type { RedisClient } from './connect.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { decodeId, type RedisKeys } from './keys.js'
import { FIRST_SERVICE_REQUEST_NUMBER } from '../../domain/tenant.js'
import type { Registry } from './registry.js'
import { NEXT_NUMBER, runScript } from './scripts.js'

/** What encodeId can produce. */
const ID = "[A-Za-z0-9%!'()*._~-]+"
const IN_TENANT = new RegExp(`^\\d{15}:${ID}$`)
const ACROSS_TENANTS = new RegExp(`^\\d{15}:${ID}:${ID}$`)

/** The JSON values stored under `keys` that exist, in the order of `keys`. */
export async function readValues<T> (client: RedisClient, keys: string[]): Promise<T[]> {
  const texts = await Promise.all(keys.map(async (key) => await client.hget(key, 'j')))
  return texts.filter((text) => text !== null).map((text) => JSON.parse(text) as T)
}

/** Members fetched per step: enough for a page and its look-ahead, not so many that a small page reads hundreds of values. */
function chunkFor (limit: number): number {
  return Math.min(Math.max(limit + 1, 16), 256)
}

export class Reads {
  constructor (private readonly client: RedisClient, private readonly keys: RedisKeys, private readonly registry: Registry) {}

  async getRequest (id: string): Promise<LockboxRequest | null> {
    const tenantId = await this.registry.tenantOf(id)
    return tenantId === null ? null : await this.value<LockboxRequest>(this.keys.request(tenantId, id))
  }

  async getServiceRequest (tenantId: string, number: string): Promise<ServiceRequest | null> {
    return await this.value<ServiceRequest>(this.keys.serviceRequest(tenantId, number))
  }

  async getTenantSettings (tenantId: string): Promise<TenantSettings | null> {
    return await this.value<TenantSettings>(this.keys.settings(tenantId))
  }

  async nextServiceRequestNumber (tenantId: string): Promise<string> {
    return String(await runScript(this.client, NEXT_NUMBER, [this.keys.serviceRequestCounter(tenantId)], [FIRST_SERVICE_REQUEST_NUMBER]))
  }

  async listServiceRequests (tenantId: string, page: { limit: number, cursor?: string }): Promise<Page<ServiceRequest>> {
    return await this.newestFirst<ServiceRequest>(this.keys.serviceRequests(tenantId), 's', IN_TENANT, page,
      (member) => this.keys.serviceRequest(tenantId, decodeId(member.split(':')[1] as string)), () => true)
  }

  async listRequests (query: RequestQuery): Promise<Page<LockboxRequest>> {
    const accept = (request: LockboxRequest): boolean =>
      (query.requesterId === undefined || request.requester.id === query.requesterId) &&
      (query.status === undefined || effectiveStatus(request, query.now) === query.status)
    const { tenantId } = query
    if (tenantId !== undefined) {
      return await this.newestFirst(this.keys.requests(tenantId), 'r', IN_TENANT, query,
        (member) => this.keys.request(tenantId, decodeId(member.split(':')[1] as string)), accept)
    }
    return await this.newestFirst(this.keys.allRequests(), 'R', ACROSS_TENANTS, query, (member) => {
      const [, tenant, id] = member.split(':') as [string, string, string]
      return this.keys.request(decodeId(tenant), decodeId(id))
    }, accept)
  }

  async listRequestsOfServiceRequest (tenantId: string, number: string): Promise<LockboxRequest[]> {
    const ids = await this.client.smembers(this.keys.requestsOfServiceRequest(tenantId, number))
    return await this.values(ids.map((id) => this.keys.request(tenantId, id)))
  }

  async listUnsettledRequests (): Promise<LockboxRequest[]> {
    const perTenant = await Promise.all((await this.registry.tenants()).map(async (tenantId) => {
      const ids = await this.client.smembers(this.keys.unsettled(tenantId))
      return await this.values<LockboxRequest>(ids.map((id) => this.keys.request(tenantId, id)))
    }))
    return perTenant.flat()
  }

  private async value<T> (key: string): Promise<T | null> {
    const json = await this.client.hget(key, 'j')
    return json === null ? null : JSON.parse(json) as T
  }

  private async values<T> (keys: string[]): Promise<T[]> {
    return await readValues<T>(this.client, keys)
  }

  /**
   * A page of a creation-order set, newest first, from the member after the cursor on. Members
   * whose value is missing (a registration whose commit failed) are passed over.
   */
  private async newestFirst<T> (set: string, kind: string, shape: RegExp, page: { limit: number, cursor?: string | undefined },
    keyOf: (member: string) => string, accept: (value: T) => boolean): Promise<Page<T>> {
    const limit = Math.max(1, Math.floor(page.limit))
    let before = page.cursor === undefined ? '+' : '(' + decodeCursor(kind, page.cursor, shape)
    const chunk = chunkFor(limit)
    const items: T[] = []
    let last = ''
    for (;;) {
      const members = await this.client.zrevrangebylex(set, before, '-', 'LIMIT', 0, chunk)
      const values = await Promise.all(members.map(async (member) => await this.value<T>(keyOf(member))))
      for (const [index, value] of values.entries()) {
        if (value === null || !accept(value)) continue
        if (items.length === limit) return { items, nextCursor: encodeCursor(kind, last) }
        items.push(value)
        last = members[index] as string
      }
      if (members.length < chunk) return { items, nextCursor: null }
      before = '(' + (members[members.length - 1] as string)
    }
  }
}
