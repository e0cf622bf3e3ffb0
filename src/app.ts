// Builds the Lockbox Gateway app from a Config. Plugins are registered explicitly, in reading order
// (external, ours, routes): the order is part of the security model, so nothing is autoloaded.
import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from '../config/schema.js'
import rateLimit from '../plugins/external/rate-limit.js'
import swagger from '../plugins/external/swagger.js'
import callerIdentity from '../plugins/app/caller-identity.js'
import clock from '../plugins/app/clock.js'
import gateway from '../plugins/app/gateway.js'
import notifications from '../plugins/app/notifications.js'
import metrics from '../plugins/app/metrics.js'
import problemDetails from '../plugins/app/problem-details.js'
import retention from '../plugins/app/retention.js'
import shutdown from '../plugins/app/shutdown.js'
import siem from '../plugins/app/siem.js'
import stores from '../plugins/app/stores.js'
import tenants from '../plugins/app/tenants.js'
import { rememberingSerializers, strictValidatorCompiler } from '../plugins/app/validation.js'
import workflow from '../plugins/app/workflow.js'
import adminRoutes from './routes/admin.js'
import contentRoutes from './routes/content/index.js'
import { UnroutableRequests } from './routes/content/unroutable.js'
import authConfigRoutes from './routes/auth-config.js'
import devOidcRoutes from './routes/dev-oidc.js'
import devTokenRoutes from './routes/dev-token.js'
import healthRoutes from './routes/health.js'
import jwksRoutes from './routes/jwks.js'
import metricsRoutes from './routes/metrics.js'
import { sharedSchemas } from './routes/schemas.js'
import v1Routes from './routes/v1/index.js'
import approverKeysRoutes from './routes/approver-keys.js'
import type { Stores } from './stores/types.js'
import type { WorkerLink } from './cluster/messages.js'

export interface AppOverrides {
  /** A backend opened by the caller (tests); the caller closes it. */
  stores?: Stores
  /** The clock, epoch ms. Tests move it to reach deadlines without waiting. */
  now?: () => number
  logger?: FastifyServerOptions['logger']
  /** Run the background expiry sweeper (default true). */
  sweep?: boolean
  /** Run the background notification delivery (default true). */
  notify?: boolean
  /** In a cluster worker (LOCKBOX_WORKERS > 1): the IPC link to the primary. */
  link?: WorkerLink
}

const REDACTED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-lockbox-assertion']

export function loggerOptions (config: Config, pretty = false): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    // Credentials never reach a log line, wherever a headers object is logged from.
    redact: { paths: [...REDACTED_HEADERS.map((name) => `req.headers["${name}"]`), ...REDACTED_HEADERS.map((name) => `headers["${name}"]`), 'res.headers["set-cookie"]'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}

export async function buildApp (config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const now = overrides.now ?? Date.now
  const unroutable = new UnroutableRequests()
  const app = Fastify({
    logger: overrides.logger ?? loggerOptions(config),
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Our own ids only: a client-chosen request id would let it forge log correlation.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // One access line per proxied call is written by the content routes; the rest stay quiet.
    logController: new LogController({ disableRequestLogging: true }),
    // The router's own refusals (a path it cannot decode) answer as problem+json too, and on a
    // content route only after that route's guard has judged and recorded them.
    frameworkErrors: unroutable.handle,
    // Requests that arrive while closing are answered by us, as problem+json (plugins/app/shutdown.ts).
    return503OnClosing: false,
    schemaController: { compilersFactory: { buildSerializer: rememberingSerializers() } }
  })
  app.setValidatorCompiler(strictValidatorCompiler())
  for (const schema of sharedSchemas) app.addSchema(schema)

  await app.register(swagger)

  await app.register(problemDetails)
  await app.register(shutdown)
  await app.register(clock, { now })
  await app.register(stores, { config, stores: overrides.stores, now })
  await app.register(rateLimit, { config })
  await app.register(tenants, { config })
  await app.register(callerIdentity, { config })
  await app.register(gateway, { config })
  await app.register(metrics, { link: overrides.link })
  await app.register(notifications, { config, start: overrides.notify ?? true })
  await app.register(workflow, { config, sweep: overrides.sweep ?? true })
  await app.register(retention, { config })
  await app.register(siem, { config })

  await app.register(healthRoutes)
  await app.register(metricsRoutes, { token: config.metricsToken })
  const devIssuer = app.devIssuer
  if (devIssuer !== null) {
    await app.register(devTokenRoutes, { issuer: devIssuer })
    await app.register(devOidcRoutes, { config, issuer: devIssuer })
  }
  await app.register(authConfigRoutes, { config })
  await app.register(jwksRoutes)
  await app.register(v1Routes, { prefix: '/v1' })
  // Public, like the JWKS: content services verify approval proofs against it.
  await app.register(approverKeysRoutes, { prefix: '/v1' })
  await app.register(adminRoutes, { connectSources: config.oidc === null ? [] : [new URL(config.oidc.issuer).origin] })
  await app.register(contentRoutes, { timeoutMs: config.upstreamTimeoutMs, unroutable, refusalBudget: config.refusalBudget })
  return app
}
