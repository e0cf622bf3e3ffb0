// The /v1 control plane: one encapsulated scope whose every route requires a caller identity token.
import type { FastifyInstance } from 'fastify'
import tenantRoutes from './tenants.js'
import delegationRoutes from './delegations.js'
import requestRoutes from './requests.js'
import auditRoutes from './audit.js'
import auditStreamRoutes from './audit-stream.js'
import meRoutes from './me.js'
import passkeyRoutes from './passkeys.js'

export default async function v1Routes (app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', app.authenticateCaller)
  await app.register(tenantRoutes)
  await app.register(delegationRoutes)
  await app.register(requestRoutes)
  await app.register(auditRoutes)
  await app.register(auditStreamRoutes)
  await app.register(meRoutes)
  await app.register(passkeyRoutes)
}
