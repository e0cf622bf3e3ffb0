// The mock OneDrive service (API.md §5): one drive per user, addressed by the user's UPN.
import type { FastifyInstance } from 'fastify'
import { gatewayAssertionGuard, type GatewayAssertionOptions } from './assertion.js'
import { SAMPLE_CONTENT } from './content.js'
import { FileLibrary } from './file-library.js'
import { registerFileRoutes } from './file-routes.js'

/** Each registration starts from the sample content and keeps its own writes. */
export async function onedriveService (app: FastifyInstance, options: GatewayAssertionOptions): Promise<void> {
  app.addHook('onRequest', gatewayAssertionGuard('onedrive', options))

  const tenants = new Map<string, Map<string, FileLibrary>>()
  for (const [tenantId, { drives }] of Object.entries(SAMPLE_CONTENT)) {
    tenants.set(tenantId, new Map(drives.map(({ upn, items }) =>
      [upn, new FileLibrary(items, `onedrive/${tenantId}/${upn}`)])))
  }

  registerFileRoutes<{ tenantId: string, upn: string }>(app, {
    collection: '/tenants/:tenantId/drives/:upn/items',
    libraryOf ({ tenantId, upn }) {
      const drives = tenants.get(tenantId)
      if (drives === undefined) return 'tenant'
      return drives.get(upn) ?? 'drive'
    }
  })
}
