// The mock SharePoint service (API.md §5): the sites of each tenant and the files in them.
import type { FastifyInstance } from 'fastify'
import { gatewayAssertionGuard, type GatewayAssertionOptions } from './assertion.js'
import { SAMPLE_CONTENT } from './content.js'
import { FileLibrary } from './file-library.js'
import { registerFileRoutes } from './file-routes.js'
import { notFound } from './not-found.js'

interface Site {
  id: string
  name: string
  files: FileLibrary
}

/** Each registration starts from the sample content and keeps its own writes. */
export async function sharepointService (app: FastifyInstance, options: GatewayAssertionOptions): Promise<void> {
  app.addHook('onRequest', gatewayAssertionGuard('sharepoint', options))

  const tenants = new Map<string, Map<string, Site>>()
  for (const [tenantId, { sites }] of Object.entries(SAMPLE_CONTENT)) {
    tenants.set(tenantId, new Map(sites.map(({ id, name, files }) =>
      [id, { id, name, files: new FileLibrary(files, `sharepoint/${tenantId}/${id}`) }])))
  }

  app.get<{ Params: { tenantId: string } }>('/tenants/:tenantId/sites', async function listSites (request, reply) {
    const sites = tenants.get(request.params.tenantId)
    if (sites === undefined) return notFound(reply, 'tenant')
    return [...sites.values()].map(({ id, name }) => ({ id, name }))
  })

  registerFileRoutes<{ tenantId: string, site: string }>(app, {
    collection: '/tenants/:tenantId/sites/:site/files',
    libraryOf ({ tenantId, site }) {
      const sites = tenants.get(tenantId)
      if (sites === undefined) return 'tenant'
      return sites.get(site)?.files ?? 'site'
    }
  })
}
