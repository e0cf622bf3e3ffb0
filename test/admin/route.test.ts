// The admin center's asset route: the built files under a strict CSP, revalidated on every load,
// and nothing else served from there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import adminRoutes, { ADMIN_CSP, adminAssetsDir } from '../../src/routes/admin.js'
import { startTestApp } from '../helpers/app.js'

async function servedFrom (t: Test): Promise<ReturnType<typeof Fastify>> {
  const root = await mkdtemp(join(tmpdir(), 'lockbox-admin-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await writeFile(join(root, 'index.html'), '<!doctype html><title>admin</title>')
  await writeFile(join(root, 'main.js'), 'export {}\n')
  await writeFile(join(root, '.env'), 'SECRET=1\n')
  const app = Fastify()
  await app.register(adminRoutes, { root })
  t.teardown(() => app.close())
  return app
}

t.test('serves the page with a strict CSP, nosniff, no referrer and revalidation', async (t) => {
  const app = await servedFrom(t)
  const res = await app.inject({ url: '/admin/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.body, '<!doctype html><title>admin</title>')
  t.equal(res.headers['content-security-policy'], ADMIN_CSP)
  t.equal(ADMIN_CSP, "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.equal(res.headers['cache-control'], 'no-cache')
  t.type(res.headers.etag, 'string')
})

t.test('serves scripts as JavaScript and answers a revalidation with 304', async (t) => {
  const app = await servedFrom(t)
  const res = await app.inject({ url: '/admin/main.js' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^(text|application)\/javascript/)
  t.equal(res.headers['content-security-policy'], ADMIN_CSP)
  const again = await app.inject({ url: '/admin/main.js', headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal((await app.inject({ method: 'HEAD', url: '/admin/' })).statusCode, 200)
})

t.test('redirects /admin to /admin/', async (t) => {
  const app = await servedFrom(t)
  const res = await app.inject({ url: '/admin' })
  t.equal(res.statusCode, 301)
  t.equal(res.headers.location, '/admin/')
  t.equal(res.headers['content-security-policy'], ADMIN_CSP)
})

t.test('serves no dotfile, nothing missing and nothing outside its folder', async (t) => {
  const app = await servedFrom(t)
  t.equal((await app.inject({ url: '/admin/.env' })).statusCode, 404)
  t.equal((await app.inject({ url: '/admin/missing.js' })).statusCode, 404)
  const escape = await app.inject({ url: '/admin/%2e%2e/%2e%2e/etc/passwd' })
  t.not(escape.statusCode, 200)
  t.notMatch(escape.body, /root:/)
})

t.test('finds dist/admin from the source tree and from the compiled tree', async (t) => {
  t.equal(adminAssetsDir('file:///srv/lockbox/src/routes/admin.ts'), '/srv/lockbox/dist/admin')
  t.equal(adminAssetsDir('file:///srv/lockbox/dist/src/routes/admin.js'), '/srv/lockbox/dist/admin')
  t.match(adminAssetsDir(), /[/\\]dist[/\\]admin$/)
})

t.test('is part of the app, outside identity: /admin needs no token', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const res = await h.app.inject({ url: '/admin' })
  t.equal(res.statusCode, 301)
  t.equal(res.headers.location, '/admin/')
})
