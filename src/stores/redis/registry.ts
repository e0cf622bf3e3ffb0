// The cross-tenant indexes: which tenants have data, which tenant each request belongs to, and all
// requests in creation order. They live outside any tenant's slot, so a commit cannot update them in
// its script: they are written before it instead. A commit that then fails leaves an entry pointing
// at nothing, which readers skip; a committed request is never missing from them.
import { ConflictError } from '../../errors.js'
import type { Change } from '../types.js'
import type { RedisClient } from './connect.js'
import type { RedisKeys } from './keys.js'
import { creationMember, type PlannedChange } from './plan.js'

/** Request → tenant pairs never change: remembering this many saves a round trip per grant lookup. */
const REMEMBERED_REQUESTS = 100_000

export class Registry {
  private readonly knownTenants = new Map<string, Promise<void>>()
  private readonly tenantOfRequest = new Map<string, string>()

  constructor (private readonly client: RedisClient, private readonly keys: RedisKeys, private readonly remembered = REMEMBERED_REQUESTS) {}

  async register (change: Change, plan: PlannedChange): Promise<void> {
    await Promise.all([this.registerTenant(change.tenantId), ...plan.created.map(async (request) => {
      const [claimed] = await Promise.all([
        this.client.hsetnx(this.keys.requestTenants(), request.id, request.tenantId),
        this.client.zadd(this.keys.allRequests(), 0, creationMember(request.createdAt, request.tenantId, request.id))
      ])
      if (claimed === 0 && await this.client.hget(this.keys.requestTenants(), request.id) !== request.tenantId) {
        throw new ConflictError(`request ${request.id} exists in another tenant`)
      }
    })])
  }

  /**
   * After a reconnect the server may be a fresh one (restarted without persistence, failed over):
   * tenants are registered again by their next commit.
   */
  forgetTenants (): void {
    this.knownTenants.clear()
  }

  /** Every tenant with stored data. */
  async tenants (): Promise<string[]> {
    return await this.client.smembers(this.keys.tenants())
  }

  async tenantOf (requestId: string): Promise<string | null> {
    const remembered = this.tenantOfRequest.get(requestId)
    if (remembered !== undefined) return remembered
    const tenantId = await this.client.hget(this.keys.requestTenants(), requestId)
    if (tenantId !== null) {
      if (this.tenantOfRequest.size >= this.remembered) this.tenantOfRequest.delete(this.tenantOfRequest.keys().next().value as string)
      this.tenantOfRequest.set(requestId, tenantId)
    }
    return tenantId
  }

  /** Once per tenant and process; a failed attempt is tried again by the next commit. */
  private async registerTenant (tenantId: string): Promise<void> {
    let registering = this.knownTenants.get(tenantId)
    if (registering === undefined) {
      registering = this.client.sadd(this.keys.tenants(), tenantId).then(() => {})
      registering.catch(() => this.knownTenants.delete(tenantId))
      this.knownTenants.set(tenantId, registering)
    }
    await registering
  }
}
