// GET /v1/auth/config: what a client needs to sign a user in (the admin center, the CLI, a script):
// the issuer, the public client id, the scopes and the provider's endpoints. Unauthenticated: it
// is asked before anyone has a token, and holds nothing secret.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config/schema.js'
import { DEV_CLIENT_ID, DEV_OIDC_PREFIX, DEV_SCOPES } from '../identity/dev-client.js'
import { AuthConfig, problems } from './schemas.js'

const DEFAULT_SCOPES = 'openid profile email offline_access'

export default async function authConfigRoutes (app: FastifyInstance, options: { config: Config }): Promise<void> {
  const { oidc } = options.config
  const provider = app.identityProvider
  app.get('/v1/auth/config', {
    schema: {
      tags: ['operations'],
      summary: 'How to sign in: the identity provider, its endpoints and the public client',
      response: { 200: AuthConfig, ...problems(503) }
    }
  }, async function authConfig (request, reply) {
    reply.header('cache-control', 'no-cache')
    if (oidc === null || provider === null) return devConfig(request, app.devIssuer?.issuer as string)
    const metadata = await provider.metadata()
    return {
      issuer: oidc.issuer,
      name: oidc.name ?? new URL(oidc.issuer).hostname,
      dev: false,
      clientId: oidc.clientId ?? null,
      scopes: oidc.scopes ?? DEFAULT_SCOPES,
      authorizationEndpoint: metadata.authorizationEndpoint,
      tokenEndpoint: metadata.tokenEndpoint,
      deviceAuthorizationEndpoint: metadata.deviceAuthorizationEndpoint,
      endSessionEndpoint: metadata.endSessionEndpoint
    }
  })
}

/** The dev provider answers on whatever address the caller reached the gateway by. */
function devConfig (request: FastifyRequest, issuer: string): object {
  const base = `${request.protocol}://${request.host}${DEV_OIDC_PREFIX}`
  return {
    issuer,
    name: 'the Lockbox dev provider',
    dev: true,
    clientId: DEV_CLIENT_ID,
    scopes: DEV_SCOPES,
    authorizationEndpoint: `${base}/auth`,
    tokenEndpoint: `${base}/token`,
    deviceAuthorizationEndpoint: `${base}/device/auth`,
    endSessionEndpoint: `${base}/session/end`
  }
}
