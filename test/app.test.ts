import t from 'tap'
import { startTestApp } from './helpers/app.js'
import { tempDir, testConfig } from './helpers/config.js'
import { buildApp, loggerOptions } from '../src/app.js'
import { approvedRequest, openServiceRequest } from './helpers/workflow.js'

t.test('answers health and readiness without identity', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  t.same((await h.app.inject({ url: '/healthz' })).json(), { status: 'ok', pid: process.pid })
  t.same((await h.app.inject({ url: '/readyz' })).json(), { status: 'ready' })
})

t.test('refuses /v1 without a valid identity token, as problem+json', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const none = await h.app.inject({ url: '/v1/requests' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer')
  t.equal(none.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(none.json(), { status: 401, code: 'UNAUTHENTICATED', title: 'Unauthorized', type: /^urn:lockbox-gateway:problem:/ })
  const junk = await h.app.inject({ url: '/v1/requests', headers: { authorization: 'Bearer not.a.jwt' } })
  t.equal(junk.statusCode, 401)
})

t.test('tells callers who they are, with only the roles that count', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const me = await h.as('contoso-approver', { url: '/v1/me' })
  t.same(me.json(), { id: 'contoso-approver', name: 'Lee Gu', email: 'lee@contoso.com', tenantId: 'contoso', provider: false, roles: ['CustomerLockboxApprover'] })
  const rogue = await h.as('rogue-contoso-engineer', { url: '/v1/me' })
  t.same(rogue.json().roles, [], 'provider roles claimed in a customer tenant do not count')
  t.same((await h.as('mgr-eng-dan', { url: '/v1/me' })).json().roles, ['SupportEngineer', 'SupportManager'])
})

t.test('issues dev tokens only for known dev users', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const res = await h.app.inject({ method: 'POST', url: '/dev/token', payload: { user: 'nobody' } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
  t.equal((await h.app.inject({ method: 'POST', url: '/dev/token', payload: {} })).statusCode, 400)
})

t.test('has no dev issuer when an OIDC issuer is configured', async (t) => {
  const h = await startTestApp({ config: { oidc: { issuer: 'https://idp.example', audience: 'lockbox', jwksUrl: 'http://127.0.0.1:9/jwks' }, devUsers: [] } })
  t.teardown(h.close)
  const res = await h.app.inject({ method: 'POST', url: '/dev/token', payload: { user: 'eng-ada' } })
  t.equal(res.statusCode, 404)
  t.equal(h.app.devIssuer, null)
})

t.test('answers an unknown route with a 404 problem', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const res = await h.app.inject({ url: '/nope?x=1' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'NOT_FOUND', detail: 'no route GET /nope' })
})

t.test('serves the OpenAPI document and its UI', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const doc = await h.app.inject({ url: '/docs/json' })
  t.equal(doc.statusCode, 200)
  const spec = doc.json()
  t.equal(spec.openapi, '3.0.3')
  for (const path of ['/v1/requests', '/v1/requests/{id}/decision', '/v1/tenants/{tenantId}', '/v1/audit', '/healthz']) {
    t.ok(spec.paths[path], `documents ${path}`)
  }
  t.ok(spec.components.schemas.LockboxRequest, 'shared schemas are components')
  const ui = await h.app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
})

t.test('keeps everything across a restart', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const first = await startTestApp({ dataDir: dir.path })
  const req = await approvedRequest(first)
  const token = await first.token('sec-erin')
  await first.close()

  const second = await startTestApp({ dataDir: dir.path })
  t.teardown(second.close)
  const read = await second.app.inject({ url: `/v1/requests/${req.id}`, headers: { authorization: `Bearer ${token}` } })
  t.equal(read.statusCode, 200, 'a dev token from before the restart still works')
  t.same(read.json(), req)
  t.equal(await openServiceRequest(second), '100002', 'numbering continues')
  t.match((await second.as('sec-erin', { url: '/v1/audit/verify?tenantId=contoso' })).json(), { valid: true, records: 5 })
})

t.test('fails closed with 503 when the store is gone', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const token = await h.token('contoso-user')
  await h.app.stores.close()
  const ready = await h.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().code, 'UNAVAILABLE')
  const res = await h.app.inject({ method: 'POST', url: '/v1/tenants/contoso/service-requests', headers: { authorization: `Bearer ${token}` }, payload: { title: 'x' } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'UNAVAILABLE')
  t.notMatch(res.json().detail, /Error|at /, 'no internals in the answer')
})

t.test('believes X-Forwarded-For only from a proxy LOCKBOX_TRUST_PROXY lists', async (t) => {
  const trusting = await startTestApp({ config: { trustProxy: ['127.0.0.1'] } })
  t.teardown(trusting.close)
  await trusting.as('contoso-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: 'x' }, headers: { 'x-forwarded-for': '203.0.113.7' }, remoteAddress: '127.0.0.1' })
  const [trusted] = (await trusting.as('sec-erin', { url: '/v1/audit?operation=ServiceRequestOpened' })).json().items
  t.equal(trusted.clientIp, '203.0.113.7')

  const plain = await startTestApp()
  t.teardown(plain.close)
  await plain.as('contoso-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: 'x' }, headers: { 'x-forwarded-for': '203.0.113.7' }, remoteAddress: '127.0.0.1' })
  const [ignored] = (await plain.as('sec-erin', { url: '/v1/audit?operation=ServiceRequestOpened' })).json().items
  t.equal(ignored.clientIp, '127.0.0.1', 'a client cannot choose the address it is recorded under')
})

t.test('logs pretty only when asked to', async (t) => {
  const config = testConfig('unused')
  t.notOk((loggerOptions(config) as { transport?: unknown }).transport)
  t.match(loggerOptions(config, true), { transport: { target: 'pino-pretty' } })
})

t.test('logs at the configured level by default', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const app = await buildApp(testConfig(dir.path, { logLevel: 'silent' }), { sweep: false, notify: false })
  t.teardown(async () => { await app.close() })
  t.equal(app.log.level, 'silent')
})
