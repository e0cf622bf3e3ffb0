// The admin center (/admin/): the built front-end from dist/admin, under a strict Content-Security-Policy.
// It only serves files; everything the pages do goes through /v1 with the signed-in caller's token.
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * Nothing inline, nothing from elsewhere: a script injected into a page could neither run nor send
 * what it read anywhere but back to us, and no other site may frame the page to trick a click.
 */
export function adminCsp (connectSources: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // The identity provider's token endpoint is the one other place the page may talk to.
    ['connect-src', "'self'", ...connectSources].join(' '),
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

export const ADMIN_CSP = adminCsp()

const ADMIN_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The file names carry no content hash, so a browser must revalidate (ETag) every time: after an
  // upgrade it never mixes old and new modules.
  'cache-control': 'no-cache'
}

/**
 * Where `npm run build` puts the admin assets, seen from this module: `<repo>/dist/admin` both when
 * it runs from source (src/routes) and when compiled (dist/src/routes).
 */
export function adminAssetsDir (moduleUrl: string = import.meta.url): string {
  const root = fileURLToPath(new URL('../../', moduleUrl))
  return basename(root) === 'dist' ? `${root}admin` : `${root}dist/admin`
}

export interface AdminRouteOptions {
  /** The built assets (default: adminAssetsDir()). */
  root?: string
  /** Origins besides our own the pages may fetch from: the identity provider's (its token endpoint). */
  connectSources?: string[]
}

export default async function adminRoutes (app: FastifyInstance, options: AdminRouteOptions): Promise<void> {
  const csp = adminCsp(options.connectSources)
  app.addHook('onSend', async function addAdminHeaders (_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    reply.headers(ADMIN_HEADERS).header('content-security-policy', csp)
    return payload
  })
  app.get('/admin', { schema: { hide: true } }, async function redirectToAdminCenter (_request, reply) {
    return await reply.redirect('/admin/', 301)
  })
  await app.register(fastifyStatic, {
    root: options.root ?? adminAssetsDir(),
    prefix: '/admin/',
    // Our own onSend hook sets cache-control; ETag and Last-Modified stay for revalidation.
    cacheControl: false,
    dotfiles: 'ignore',
    decorateReply: false
  })
}
