// The tenant registry: the tenants file, with settings changed through the API applied over it.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import { withSettings } from '../../src/domain/tenant.js'
import type { TenantRegistry } from '../../src/workflow/context.js'

declare module 'fastify' {
  interface FastifyInstance {
    tenants: TenantRegistry
  }
}

async function tenants (app: FastifyInstance, options: { config: Config }): Promise<void> {
  const byId = new Map(options.config.tenants.map((t) => [t.id, t]))
  const registry: TenantRegistry = {
    async getVersioned (tenantId) {
      const base = byId.get(tenantId)
      if (base === undefined) return null
      const settings = await app.stores.lockbox.getTenantSettings(tenantId)
      return { tenant: withSettings(base, settings), settings }
    },
    async get (tenantId) {
      return (await registry.getVersioned(tenantId))?.tenant ?? null
    },
    ids: () => [...byId.keys()]
  }
  app.decorate('tenants', registry)
}

export default fp(tenants, { name: 'tenants', dependencies: ['stores'] })
