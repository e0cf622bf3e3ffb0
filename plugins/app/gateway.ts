// The data plane's shared state: signing keys, the access-token verifier, the grant cache, the
// assertion signer and the in-flight registry; grant events wired to all of them. Also starts the
// built-in mock content services for every workload without a configured upstream.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createLocalJWKSet } from 'jose'
import type { Config } from '../../config/schema.js'
import { WORKLOADS, type Workload } from '../../src/domain/lockbox.js'
import { AccessTokenVerifier, GATEWAY_ISSUER } from '../../src/gateway/access-token.js'
import { AssertionSigner } from '../../src/gateway/assertion.js'
import { GrantCache } from '../../src/gateway/grant-cache.js'
import { InFlight } from '../../src/gateway/in-flight.js'
import { openSigningKeys, type SigningKeys } from '../../src/gateway/signing-keys.js'
import { startMockServices } from '../../src/mocks/index.js'
import { publishedApproverKeys } from '../../src/workflow/passkeys.js'

export interface Gateway {
  keys: SigningKeys
  tokens: AccessTokenVerifier
  grants: GrantCache
  assertions: AssertionSigner
  inFlight: InFlight
  /** Base URL of each workload's content service. */
  upstreams: Record<Workload, string>
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway
  }
}

/** How often each grant with transfers in flight is re-read from the store. */
const RECHECK_MS = 500

async function gateway (app: FastifyInstance, options: { config: Config }): Promise<void> {
  const { config } = options
  const keys = await openSigningKeys(config.signingKeyFile)
  // Grants in flight are re-read from the store (never the cache) twice a second: a lost grant
  // event still cuts within a second.
  const inFlight = new InFlight(app.now, 250, {
    read: async (requestId) => await app.stores.lockbox.getRequest(requestId),
    everyMs: RECHECK_MS,
    /* c8 ignore next -- only logs; the cut that follows a failed read is InFlight's, proven in its own test */
    failed: (requestId, err) => { app.log.warn({ err, requestId }, 'could not re-check a grant in flight: its transfers are cut') }
  })
  const grants = new GrantCache(app.stores.lockbox)
  // The upstream judges an assertion's age by its own clock, so it is signed on the wall clock.
  const assertions = new AssertionSigner(keys, Date.now)

  const upstreams = { ...config.upstreams } as Record<Workload, string | null>
  if (WORKLOADS.some((w) => upstreams[w] === null)) {
    const mocks = await startMockServices({
      keys: createLocalJWKSet(keys.jwks),
      issuer: GATEWAY_ISSUER,
      // In-process, the mocks read the very key set GET /v1/tenants/{id}/approver-keys publishes;
      // a content service elsewhere fetches it (src/mocks/approvals.ts remoteApproverKeys).
      approverKeys: config.mockRequireSignedApprovals ? async (tenantId) => await publishedApproverKeys(app.workflow, tenantId) : undefined,
      // The signed window is judged by the clock the gateway stamps approvals with.
      windowNow: app.now
    })
    for (const w of WORKLOADS) upstreams[w] ??= mocks.urls[w]
    app.log.info({ upstreams }, 'built-in mock content services started')
    app.addHook('onClose', async () => { await mocks.close() })
  }

  const unsubscribe = app.stores.grantEvents.subscribe(function dropEndedGrant (event) {
    grants.drop(event.requestId)
    assertions.forget(event.requestId)
    inFlight.cut(event.requestId, event.status)
  })
  // Events published while the subscription was down are lost: re-check every grant in flight now.
  const unsubscribeRenewal = app.stores.grantEvents.resubscribed(function recheckAfterRenewal () {
    app.log.info({ inFlight: inFlight.size }, 'grant events subscription renewed: re-checking every grant in flight')
    inFlight.recheckNow()
  })
  app.addHook('onClose', async () => {
    unsubscribe()
    unsubscribeRenewal()
    inFlight.cutAll('Shutdown')
  })

  const tokens = new AccessTokenVerifier(keys, { now: app.now })
  app.decorate('gateway', {
    keys,
    tokens,
    grants,
    assertions,
    inFlight,
    upstreams: upstreams as Record<Workload, string>
  })
}

export default fp(gateway, { name: 'gateway', dependencies: ['stores', 'clock'] })
