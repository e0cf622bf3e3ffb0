// POST /v1/requests/{id}/token (API.md §3, §4): the requester of an Approved request gets an EdDSA
// access token bound to that request, never outliving its window; the issue is on the audit log.
import t from 'tap'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import type { CryptoKey } from 'jose'
import { startTestApp } from '../helpers/app.js'
import { tempDir } from '../helpers/config.js'
import { signToken } from '../helpers/access-tokens.js'
import { accessTokenOf } from '../helpers/content.js'
import { approvedRequest, auditOf, createRequest, review } from '../helpers/workflow.js'

const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

t.test('issues an EdDSA access token bound to the approved request', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h, { accessLevel: 'readwrite', duration: 'PT1H' })
  const res = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['accessToken', 'expiresAt', 'tokenType'])
  t.equal(body.tokenType, 'Bearer')
  t.equal(body.expiresAt, req.accessEndsAt, 'the token ends with the window')

  const header = decodeProtectedHeader(body.accessToken)
  t.equal(header.alg, 'EdDSA')
  t.equal(header.typ, 'lockbox-access+jwt')
  const jwks = (await h.app.inject({ url: '/.well-known/jwks.json' })).json()
  t.ok(jwks.keys.some((k: { kid: string }) => k.kid === header.kid), 'its kid is published')
  const { payload } = await jwtVerify(body.accessToken, createLocalJWKSet(jwks), {
    issuer: 'urn:lockbox-gateway',
    audience: 'urn:lockbox-gateway:content',
    typ: 'lockbox-access+jwt',
    currentDate: new Date(h.now())
  })
  t.match(payload, {
    requestId: req.id,
    tenantId: 'contoso',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'readwrite',
    sub: 'eng-ada',
    iat: Math.floor(h.now() / 1000),
    nbf: Math.floor(h.now() / 1000),
    exp: Date.parse(req.accessEndsAt as string) / 1000
  })
  t.match(payload.jti, /^[0-9a-f-]{36}$/)

  const [issued] = await auditOf(h, `requestId=${req.id}&operation=LockboxAccessTokenIssued`)
  t.match(issued, {
    tenantId: 'contoso',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    requestId: req.id,
    workload: 'exchange',
    object: '/mailboxes/alice@contoso.com',
    details: { jti: payload.jti, expiresAt: body.expiresAt, accessLevel: 'readwrite' }
  })
  t.notOk(JSON.stringify(issued).includes(body.accessToken), 'the token itself is not recorded')
})

t.test('never lets a token outlive the window, even by a fraction of a second', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  h.advance(1500)
  const req = await approvedRequest(h)
  t.match(req.accessEndsAt, /\.500Z$/)
  h.advance(60_000)
  const token = await accessTokenOf(h, req.id)
  const exp = decodeJwt(token).exp as number
  t.equal(exp * 1000, Date.parse(req.accessEndsAt as string) - 500)
  t.equal(decodeJwt(token).iat, Math.floor(h.now() / 1000))
})

t.test('issues tokens only to the requester of an approved request', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const pending = await createRequest(h)
  const early = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${pending.id}/token` })
  t.equal(early.statusCode, 409)
  t.match(early.json(), { code: 'INVALID_STATE' })
  await review(h, pending.id)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${pending.id}/token` })).statusCode, 409, 'awaiting the customer')

  const req = await approvedRequest(h)
  const other = await h.as('eng-bob', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(other.statusCode, 404, 'another engineer may not even see it')
  const manager = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(manager.statusCode, 403)
  t.match(manager.json(), { code: 'FORBIDDEN' })
  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 403)
  t.equal((await h.as(null, { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 401)
  t.equal((await h.as('eng-ada', { method: 'POST', url: '/v1/requests/no-such-request/token' })).statusCode, 404)

  h.advance(Date.parse(req.accessEndsAt as string) - h.now())
  const late = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(late.statusCode, 409, 'not once the window has ended')
  t.match(late.json(), { detail: /Completed/ })

  const revoked = await approvedRequest(h)
  await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${revoked.id}/revoke` })
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${revoked.id}/token` })).statusCode, 409)
  t.same(await auditOf(h, 'operation=LockboxAccessTokenIssued'), [], 'no refusal issued anything')
})

t.test('does not take an access token as an identity on /v1', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const token = await accessTokenOf(h, req.id)
  const res = await h.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401)
})

t.test('keeps its signing key in a 0600 file, and tokens valid across a restart', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const first = await startTestApp({ dataDir: dir.path })
  const req = await approvedRequest(first)
  const token = await accessTokenOf(first, req.id)
  t.equal((await stat(first.config.signingKeyFile)).mode & 0o777, 0o600)
  const jwks = (await first.app.inject({ url: '/.well-known/jwks.json' })).json()
  await first.close()

  const second = await startTestApp({ dataDir: dir.path })
  t.teardown(second.close)
  t.same((await second.app.inject({ url: '/.well-known/jwks.json' })).json(), jwks, 'the same keys')
  const res = await second.app.inject({ url: MESSAGES, headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200, 'a token issued before the restart still works')
})

t.test('signs with the first key of the file and accepts tokens of every key in it', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const pair = async (kid: string): Promise<{ jwk: Record<string, unknown>, privateKey: CryptoKey }> => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    return { jwk: { ...await exportJWK(privateKey), kid }, privateKey }
  }
  const next = await pair('2026-11')
  const previous = await pair('2026-10')
  const file = join(dir.path, 'rotating-keys.json')
  await writeFile(file, JSON.stringify({ keys: [next.jwk, previous.jwk] }), { mode: 0o600 })
  const h = await startTestApp({ dataDir: dir.path, config: { signingKeyFile: file } })
  t.teardown(h.close)

  const jwks = (await h.app.inject({ url: '/.well-known/jwks.json' })).json()
  t.same(jwks.keys.map((k: { kid: string }) => k.kid), ['2026-11', '2026-10'])
  t.notOk(jwks.keys.some((k: Record<string, unknown>) => 'd' in k), 'no private half is published')

  const req = await approvedRequest(h)
  const token = await accessTokenOf(h, req.id)
  t.equal(decodeProtectedHeader(token).kid, '2026-11', 'the first key signs')
  const old = await signToken(token, previous.privateKey, { kid: '2026-10', typ: 'lockbox-access+jwt' })
  const res = await h.app.inject({ url: MESSAGES, headers: { authorization: `Bearer ${old}` } })
  t.equal(res.statusCode, 200, 'a token of the older key still verifies')
  const mismatched = await signToken(token, previous.privateKey, { kid: '2026-11', typ: 'lockbox-access+jwt' })
  t.equal((await h.app.inject({ url: MESSAGES, headers: { authorization: `Bearer ${mismatched}` } })).statusCode, 401, 'each kid verifies with its own key only')
})
