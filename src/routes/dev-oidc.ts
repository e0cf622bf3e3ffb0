// The dev OpenID provider under /dev/oidc (issuer `<public URL>/dev/oidc`): oidc-provider's own
// endpoints (discovery, authorization, token, device, end session, JWKS), and the sign-in page that
// lists the dev users. Registered only when no OIDC issuer is configured.
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type Provider from 'oidc-provider'
import type { Config } from '../../config/schema.js'
import { DEV_OIDC_PREFIX } from '../identity/dev-client.js'
import type { DevIssuer } from '../identity/dev-issuer.js'
import { DEV_PAGE_CSP, escapeHtml, page } from '../identity/dev-provider-pages.js'

export interface DevOidcRouteOptions {
  config: Config
  issuer: DevIssuer
}

const DEFAULT_ID_TOKEN_TTL_MS = 3600_000

export default async function devOidcRoutes (app: FastifyInstance, options: DevOidcRouteOptions): Promise<void> {
  const { config, issuer } = options
  // Loaded here, not at start-up: a gateway with a real identity provider never loads oidc-provider.
  /* c8 ignore next -- under test, tsx appends its own default-export interop to a dynamic import: its branches, not ours */
  const { createDevProvider } = await import('../identity/dev-provider.js')
  const provider = await createDevProvider({
    issuer: issuer.issuer,
    dataDir: config.dataDir,
    users: config.devUsers,
    signingKey: issuer.signingKey,
    idTokenTtlSeconds: Math.round((config.devIdTokenTtlMs ?? DEFAULT_ID_TOKEN_TTL_MS) / 1000),
    publicUrl: config.publicUrl,
    proxy: config.trustProxy.length > 0
  })
  provider.on('server_error', (_ctx, err) => { app.log.error({ err }, 'dev OpenID provider failed') })
  await app.register(interactionRoutes, { provider, users: issuer.users() })
  await app.register(providerRoutes, { provider })
}

/** oidc-provider reads the body itself: this scope leaves every request body unread. */
async function providerRoutes (app: FastifyInstance, options: { provider: Provider }): Promise<void> {
  const handle = options.provider.callback()
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', function leaveBodyUnread (_request, _payload, done) { done(null) })
  app.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: `${DEV_OIDC_PREFIX}/*`,
    schema: { hide: true },
    handler: async function devOpenIdProvider (request, reply) {
      reply.hijack()
      const raw = request.raw as IncomingMessage & { originalUrl?: string }
      // As if mounted: oidc-provider routes on the rest of the path and builds its URLs from the whole.
      raw.originalUrl = raw.url
      raw.url = (raw.url as string).slice(DEV_OIDC_PREFIX.length)
      reply.raw.setHeader('content-security-policy', DEV_PAGE_CSP)
      await handle(raw, reply.raw)
    }
  })
}

interface InteractionOptions {
  provider: Provider
  users: Array<{ id: string, name: string, tid: string, roles: string[] }>
}

async function interactionRoutes (app: FastifyInstance, options: InteractionOptions): Promise<void> {
  const { provider, users } = options
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, function parseForm (_request, body, done) {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  app.get<{ Params: { uid: string } }>(`${DEV_OIDC_PREFIX}/interaction/:uid`, { schema: { hide: true } }, async function devSignInPage (request, reply) {
    const details = await interactionOrPage(provider, request, reply)
    if (details === null) return reply
    const tenants = [...new Set(users.map((u) => u.tid))]
    const lists = tenants.map((tid) => `<h2>${escapeHtml(tid)}</h2><ul aria-label="Users of ${escapeHtml(tid)}">${users.filter((u) => u.tid === tid).map((u) => `
      <li><button class="user" type="submit" name="user" value="${escapeHtml(u.id)}">${escapeHtml(u.name)} <span class="roles">${escapeHtml(u.roles.length === 0 ? 'no role' : u.roles.join(', '))}</span></button></li>`).join('')}</ul>`).join('\n')
    return sendPage(reply, 200, page('Sign in', `
      <h1>Sign in to the Lockbox dev provider</h1>
      <p>Choose who you are. The users come from <code>config/dev-users.json</code>.</p>
      <form method="post" action="${DEV_OIDC_PREFIX}/interaction/${escapeHtml(request.params.uid)}/login">${lists}</form>`))
  })

  app.post<{ Params: { uid: string }, Body: Record<string, string> | undefined }>(`${DEV_OIDC_PREFIX}/interaction/:uid/login`, { schema: { hide: true } }, async function devSignIn (request, reply) {
    const details = await interactionOrPage(provider, request, reply)
    if (details === null) return reply
    const user = request.body?.user
    if (user === undefined || !users.some((u) => u.id === user)) {
      return sendPage(reply, 400, page('Sign-in failed', '<h1>Sign-in failed</h1><p role="alert">Choose one of the listed users.</p>'))
    }
    reply.hijack()
    await provider.interactionFinished(request.raw, reply.raw, { login: { accountId: user } }, { mergeWithLastSubmission: false })
  })
}

/** The pending sign-in, or null once a page saying why there is none has been sent. */
async function interactionOrPage (provider: Provider, request: FastifyRequest, reply: FastifyReply): Promise<object | null> {
  try {
    return await provider.interactionDetails(request.raw, reply.raw)
  } catch {
    sendPage(reply, 400, page('Sign-in expired', '<h1>This sign-in has expired</h1><p role="alert">Go back to the application and sign in again.</p>'))
    return null
  }
}

function sendPage (reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).header('content-security-policy', DEV_PAGE_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
}
