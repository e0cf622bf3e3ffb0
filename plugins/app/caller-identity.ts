// Caller identity for /v1: verifies the organisation's OIDC token (or the dev issuer's, when no
// issuer is configured) and puts the Caller on the request. Route scopes add `authenticateCaller`
// as their onRequest hook; nothing outside /v1 ever sees it.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { Caller } from '../../src/domain/policy.js'
import { createCallerVerifier } from '../../src/identity/caller-verifier.js'
import { openDevIssuer, type DevIssuer } from '../../src/identity/dev-issuer.js'
import { DEV_AUDIENCE, DEV_OIDC_PREFIX } from '../../src/identity/dev-client.js'
import { openDiscovery, type Discovery } from '../../src/identity/discovery.js'
import { discoveredKeys, remoteKeys } from '../../src/identity/remote-keys.js'

declare module 'fastify' {
  interface FastifyInstance {
    authenticateCaller: (request: FastifyRequest) => Promise<void>
    /** The built-in dev issuer, or null when an OIDC issuer is configured. */
    devIssuer: DevIssuer | null
    /** The configured identity provider's metadata, or null when the dev provider runs. */
    identityProvider: Discovery | null
  }
  interface FastifyRequest {
    caller: Caller
  }
}

async function callerIdentity (app: FastifyInstance, options: { config: Config }): Promise<void> {
  const { config } = options
  let devIssuer: DevIssuer | null = null
  let identityProvider: Discovery | null = null
  let verifier
  if (config.oidc !== null) {
    identityProvider = openDiscovery(config.oidc.issuer)
    verifier = createCallerVerifier({
      issuer: config.oidc.issuer,
      audience: config.oidc.audience,
      // LOCKBOX_OIDC_JWKS_URL wins; without it the keys are where the discovery document says.
      keys: config.oidc.jwksUrl === undefined ? discoveredKeys(identityProvider) : remoteKeys(config.oidc.jwksUrl),
      providerTenantId: config.providerTenantId
    })
  } else {
    devIssuer = await openDevIssuer({ dataDir: config.dataDir, users: config.devUsers, issuer: `${config.publicUrl}${DEV_OIDC_PREFIX}`, audience: DEV_AUDIENCE })
    verifier = createCallerVerifier({ issuer: devIssuer.issuer, audience: devIssuer.audience, keys: devIssuer.keys, providerTenantId: config.providerTenantId })
  }
  app.decorate('devIssuer', devIssuer)
  app.decorate('identityProvider', identityProvider)
  app.decorateRequest('caller', null as unknown as Caller)
  app.decorate('authenticateCaller', async function authenticateCaller (request: FastifyRequest) {
    request.caller = await verifier.verify(request.headers.authorization)
  })
}

export default fp(callerIdentity, { name: 'caller-identity' })
