// A valid token opens only its own grant: its tenant, workload, scope (on whole segments) and access
// level, and only while its request is still Approved; and only when the access can be recorded.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { gatewayKey, signToken } from '../../helpers/access-tokens.js'
import { contentRecords, granted } from '../../helpers/content.js'
import { startAppBehindUpstream } from '../../helpers/recording-upstream.js'

const ALICE = '/exchange/contoso/mailboxes/alice@contoso.com'

t.test('refuses a path outside the token\'s tenant, workload or scope with 403', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  const cases: Array<[string, string, string]> = [
    ['GET', '/exchange/fabrikam/mailboxes/alice@contoso.com/messages', 'token is for another tenant'],
    ['GET', '/exchange/%66abrikam/mailboxes/alice@contoso.com/messages', 'token is for another tenant'],
    ['GET', '/exchange', 'token is for another tenant'],
    ['GET', '/exchange/', 'token is for another tenant'],
    ['GET', '/sharepoint/contoso/mailboxes/alice@contoso.com/messages', 'token is for another workload'],
    ['GET', '/onedrive/contoso/drives/alice@contoso.com/items', 'token is for another workload'],
    ['GET', '/exchange/contoso/mailboxes/bob@contoso.com/messages', 'path outside the granted scope'],
    ['GET', '/exchange/contoso/mailboxes/alice@contoso.com.evil/messages', 'path outside the granted scope'],
    ['GET', '/exchange/contoso/mailboxes/alice@contoso.co', 'path outside the granted scope'],
    ['GET', '/exchange/contoso/mailboxes', 'path outside the granted scope'],
    ['GET', '/exchange/contoso', 'path outside the granted scope'],
    ['GET', '/exchange/contoso/', 'path outside the granted scope'],
    ['DELETE', `${ALICE}/messages/AAMk-alice-0001`, 'method beyond the access level'],
    ['POST', `${ALICE}/messages`, 'method beyond the access level'],
    ['PUT', `${ALICE}/messages/AAMk-alice-0001`, 'method beyond the access level'],
    ['PATCH', `${ALICE}/messages/AAMk-alice-0001`, 'method beyond the access level'],
    ['OPTIONS', `${ALICE}/messages`, 'method beyond the access level']
  ]
  for (const [method, url, reason] of cases) {
    const res = await h.app.inject({ method: method as 'GET', url, headers: { authorization }, ...(method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? {} : { payload: { isRead: true } }) })
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.match(res.json(), { status: 403, code: 'OUT_OF_SCOPE' }, reason)
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.equal(upstream.requests.length, 0, 'nothing reaches the upstream')
  t.equal(upstream.connections, 0)
  const denied = await contentRecords(h, request.id, 'ContentAccessDenied')
  const fabrikam = await contentRecords(h, request.id, 'ContentAccessDenied', 'fabrikam')
  t.equal(denied.length + fabrikam.length, cases.length, 'every refusal is recorded')
  t.same(denied.map((r) => r.details.reason), cases.filter(([, url]) => !url.includes('abrikam')).map(([, , reason]) => reason))
  t.match(denied[0], { actor: { id: 'eng-ada', type: 'SupportEngineer' }, requestId: request.id, result: 'Denied', details: { status: 403 } })
  // Another tenant's path is recorded where that tenant reads it, never in the token tenant's log.
  t.same(fabrikam.map((r) => [r.tenantId, r.object]), [
    ['fabrikam', '/fabrikam/mailboxes/alice@contoso.com/messages'],
    ['fabrikam', '/fabrikam/mailboxes/alice@contoso.com/messages']
  ], 'in its canonical spelling, whatever escapes the client used')
  t.notOk(denied.some((r) => JSON.stringify(r).includes('abrikam')))
})

t.test('lets a read token GET and HEAD inside its scope', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { authorization } = await granted(h)
  for (const url of [ALICE, `${ALICE}/`, `${ALICE}/messages`, `${ALICE}/messages/AAMk-alice-0001/attachments/att-1`]) {
    const res = await h.app.inject({ url, headers: { authorization } })
    t.equal(res.statusCode, 200, url)
  }
  const head = await h.app.inject({ method: 'HEAD', url: `${ALICE}/messages`, headers: { authorization } })
  t.equal(head.statusCode, 200)
  t.same(upstream.requests.map((r) => r.method), ['GET', 'GET', 'GET', 'GET', 'HEAD'])
})

t.test('lets a readwrite token write inside its scope, and a whole-tenant scope reach every path', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const rw = await granted(h, { accessLevel: 'readwrite' })
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const res = await h.app.inject({ method, url: `${ALICE}/messages/AAMk-alice-0001`, headers: { authorization: rw.authorization }, ...(method === 'DELETE' ? {} : { payload: { isRead: true } }) })
    t.equal(res.statusCode, 200, method)
  }
  const whole = await granted(h, { scope: '/' })
  const bob = await h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com/messages', headers: { authorization: whole.authorization } })
  t.equal(bob.statusCode, 200)
  const root = await h.app.inject({ url: '/exchange/contoso', headers: { authorization: whole.authorization } })
  t.equal(root.statusCode, 200)
  t.same(upstream.requests.map((r) => `${r.method} ${r.url}`), [
    'POST /tenants/contoso/mailboxes/alice@contoso.com/messages/AAMk-alice-0001',
    'PUT /tenants/contoso/mailboxes/alice@contoso.com/messages/AAMk-alice-0001',
    'PATCH /tenants/contoso/mailboxes/alice@contoso.com/messages/AAMk-alice-0001',
    'DELETE /tenants/contoso/mailboxes/alice@contoso.com/messages/AAMk-alice-0001',
    'GET /tenants/contoso/mailboxes/bob@contoso.com/messages',
    'GET /tenants/contoso'
  ])
})

t.test('matches a scope and a path by their decoded segments', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { authorization } = await granted(h, { workload: 'sharepoint', scope: '/sites/finance/files/Shared%20Documents' })
  const res = await h.app.inject({ url: '/sharepoint/contoso/sites/finance/files/Shared%20Documents/README.txt', headers: { authorization } })
  t.equal(res.statusCode, 200)
  const other = await h.app.inject({ url: '/sharepoint/contoso/sites/finance/files/Shared%20Documents2/README.txt', headers: { authorization } })
  t.equal(other.statusCode, 403)
  t.equal(upstream.requests.length, 1)
})

t.test('refuses the token of a revoked request at once', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  t.equal((await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })).statusCode, 200, 'the grant is now cached')
  const revoke = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${request.id}/revoke`, payload: { comment: 'done' } })
  t.equal(revoke.statusCode, 200)
  const res = await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'GRANT_INACTIVE', detail: /Revoked/ })
  t.equal(upstream.requests.length, 1)
  const [denied] = await contentRecords(h, request.id, 'ContentAccessDenied')
  t.match(denied, { details: { status: 403, reason: 'request is Revoked' } })
})

t.test('refuses the token of a request its requester canceled at once', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  t.equal((await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })).statusCode, 200)
  const cancel = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${request.id}/cancel` })
  t.equal(cancel.statusCode, 200)
  // Canceling active access completes it (API.md §3).
  t.equal(cancel.json().status, 'Completed')
  const res = await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'GRANT_INACTIVE', detail: /Completed/ })
  t.equal(upstream.requests.length, 1)
})

t.test('refuses the token of a request whose service request was closed at once', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, authorization } = await granted(h)
  t.equal((await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })).statusCode, 200)
  const close = await h.as('contoso-user', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${request.serviceRequestNumber as string}/close` })
  t.equal(close.statusCode, 200)
  const res = await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization } })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'GRANT_INACTIVE' })
  t.equal(upstream.requests.length, 1)
})

t.test('refuses a genuine-key token that does not match its request', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const { request, token } = await granted(h)
  const { key, kid } = await gatewayKey(h)
  const header = { kid, typ: 'lockbox-access+jwt' }
  const forged: Array<[string, Record<string, unknown>]> = [
    ['unknown request', { requestId: randomUUID() }],
    ['another requester', { sub: 'eng-bob' }],
    ['wider scope', { scope: '/' }],
    ['higher access level', { accessLevel: 'readwrite' }],
    ['another workload', { workload: 'sharepoint' }],
    ['another tenant', { tenantId: 'fabrikam' }]
  ]
  for (const [what, claims] of forged) {
    const url = `/${(claims.workload as string | undefined) ?? 'exchange'}/${(claims.tenantId as string | undefined) ?? 'contoso'}/mailboxes/alice@contoso.com/messages`
    const res = await h.app.inject({ url, headers: { authorization: `Bearer ${await signToken(token, key, header, claims)}` } })
    t.equal(res.statusCode, 403, what)
    t.match(res.json(), { code: 'GRANT_INACTIVE', detail: 'the request behind this token does not grant this access' }, what)
  }
  t.equal(upstream.requests.length, 0)
  const denied = [...await contentRecords(h, null, 'ContentAccessDenied'), ...await contentRecords(h, null, 'ContentAccessDenied', 'fabrikam')]
  t.equal(denied.length, forged.length)
  t.ok(denied.every((r) => r.details.reason === 'token does not match an approved request'))
  t.equal(request.status, 'Approved')
})

t.test('answers 503 and forwards nothing when the access cannot be recorded', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const first = await granted(h)
  const second = await granted(h)
  // Both tokens verified and the first grant cached: only the store is missing below.
  t.equal((await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization: first.authorization } })).statusCode, 200)
  t.equal((await h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com', headers: { authorization: second.authorization } })).statusCode, 403)
  t.equal(upstream.requests.length, 1)
  await h.app.stores.close()

  const warm = await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization: first.authorization } })
  t.equal(warm.statusCode, 503)
  t.match(warm.json(), { status: 503, code: 'UNAVAILABLE', detail: 'the audit log is unavailable; nothing was forwarded' })
  const cold = await h.app.inject({ url: `${ALICE}/messages`, headers: { authorization: second.authorization } })
  t.equal(cold.statusCode, 503, 'a grant that cannot be read fails closed too')
  t.match(cold.json(), { code: 'UNAVAILABLE' })
  const refusal = await h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com', headers: { authorization: first.authorization } })
  t.equal(refusal.statusCode, 503, 'a refusal that cannot be recorded is a 503 too')
  t.match(refusal.json(), { code: 'UNAVAILABLE' })
  const anonymous = await h.app.inject({ url: `${ALICE}/messages` })
  t.equal(anonymous.statusCode, 503)
  t.equal(upstream.requests.length, 1, 'nothing more reached the upstream')
})
