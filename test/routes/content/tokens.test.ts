// The content routes take only a valid access token: every other bearer is a 401 with
// WWW-Authenticate, nothing reaches the upstream, and the refusal is on the audit log.
import t, { type Test } from 'tap'
import { base64url, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { gatewayKey, signToken, unsignedToken } from '../../helpers/access-tokens.js'
import { contentRecords, granted, type Granted } from '../../helpers/content.js'
import { startAppBehindUpstream, type RecordingUpstream } from '../../helpers/recording-upstream.js'

const URL = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

interface Setup { h: TestApp, upstream: RecordingUpstream, grant: Granted }

async function setup (t: Test): Promise<Setup> {
  const { h, upstream } = await startAppBehindUpstream(t)
  return { h, upstream, grant: await granted(h) }
}

/** Sends `authorization` and checks the 401 and its record; returns the recorded reason. */
async function expectRefused (t: Test, s: Setup, authorization: string | undefined, reason: string | RegExp): Promise<void> {
  const before = (await contentRecords(s.h, null, 'ContentAccessDenied')).length
  const forwarded = s.upstream.requests.length
  const res = await s.h.app.inject({ url: URL, headers: authorization === undefined ? {} : { authorization } })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), { status: 401, code: 'TOKEN_INVALID', title: 'Unauthorized' })
  t.equal(s.upstream.requests.length, forwarded, 'nothing reaches the upstream')
  const denied = await contentRecords(s.h, null, 'ContentAccessDenied')
  t.equal(denied.length, before + 1, 'the refusal is recorded')
  t.match(denied.at(-1), {
    tenantId: 'contoso',
    result: 'Denied',
    actor: { id: 'unknown', type: 'SupportEngineer' },
    requestId: null,
    workload: 'exchange',
    object: '/contoso/mailboxes/alice@contoso.com/messages',
    details: { status: 401, reason, method: 'GET' }
  })
}

t.test('refuses a request without a token', async (t) => {
  const s = await setup(t)
  await expectRefused(t, s, undefined, 'missing access token')
  await expectRefused(t, s, 'Basic ZW5nLWFkYTpzZWNyZXQ=', 'missing access token')
  await expectRefused(t, s, 'Bearer    ', 'missing access token')
  await expectRefused(t, s, 'Bearer', 'missing access token')
})

t.test('refuses a malformed token', async (t) => {
  const s = await setup(t)
  await expectRefused(t, s, 'Bearer not-a-jwt', 'token is not a compact JWS')
  await expectRefused(t, s, 'Bearer a.b', 'token is not a compact JWS')
  await expectRefused(t, s, `Bearer ${s.grant.token}.`, 'token is not a compact JWS')
  await expectRefused(t, s, 'Bearer e30.e30.!!!', 'token is not a compact JWS')
  await expectRefused(t, s, `Bearer ${base64url.encode('{not json')}.e30.c2ln`, 'token header is not JSON')
  await expectRefused(t, s, `Bearer ${base64url.encode('null')}.e30.c2ln`, 'token header is not an object')
  await expectRefused(t, s, `Bearer ${base64url.encode('"EdDSA"')}.e30.c2ln`, 'token header is not an object')
})

t.test('accepts the bearer scheme in any case', async (t) => {
  const s = await setup(t)
  const res = await s.h.app.inject({ url: URL, headers: { authorization: `bEaReR ${s.grant.token}` } })
  t.equal(res.statusCode, 200)
})

t.test('refuses a token re-signed with another key', async (t) => {
  const s = await setup(t)
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const { kid } = decodeProtectedHeader(s.grant.token)
  const sameKid = await signToken(s.grant.token, privateKey, { kid, typ: 'lockbox-access+jwt' })
  await expectRefused(t, s, `Bearer ${sameKid}`, 'token signature invalid')
  const ownKid = await signToken(s.grant.token, privateKey, { kid: 'attacker-key', typ: 'lockbox-access+jwt' })
  await expectRefused(t, s, `Bearer ${ownKid}`, 'unknown signing key')
  const noKid = await signToken(s.grant.token, privateKey, { typ: 'lockbox-access+jwt' })
  await expectRefused(t, s, `Bearer ${noKid}`, 'unknown signing key')
})

t.test('refuses a token whose payload was edited', async (t) => {
  const s = await setup(t)
  const [header, , signature] = s.grant.token.split('.')
  const widened = base64url.encode(JSON.stringify({ ...decodeJwt(s.grant.token), scope: '/', accessLevel: 'readwrite' }))
  await expectRefused(t, s, `Bearer ${header as string}.${widened}.${signature as string}`, 'token signature invalid')
})

t.test('refuses alg none and HS256 keyed with the public key', async (t) => {
  const s = await setup(t)
  const header = decodeProtectedHeader(s.grant.token)
  const payload = decodeJwt(s.grant.token)
  await expectRefused(t, s, `Bearer ${unsignedToken({ ...header, alg: 'none' }, payload)}`, 'token is not a compact JWS')
  await expectRefused(t, s, `Bearer ${unsignedToken({ ...header, alg: 'none' }, payload, 'c2ln')}`, 'token algorithm not allowed')
  const jwks = (await s.h.app.inject({ url: '/.well-known/jwks.json' })).json()
  const publicJwk = jwks.keys[0]
  for (const secret of [base64url.decode(publicJwk.x), new TextEncoder().encode(JSON.stringify(publicJwk))]) {
    const hs = await new SignJWT(payload).setProtectedHeader({ ...header, alg: 'HS256' }).sign(secret)
    await expectRefused(t, s, `Bearer ${hs}`, 'token algorithm not allowed')
  }
})

t.test('refuses an expired token', async (t) => {
  const s = await setup(t)
  const ok = await s.h.app.inject({ url: URL, headers: { authorization: s.grant.authorization } })
  t.equal(ok.statusCode, 200, 'valid, and now remembered by the verifier')
  s.h.advance(Date.parse(s.grant.request.accessEndsAt as string) - s.h.now())
  // The token ends with the window: past it, the token itself is expired (401) before any grant check.
  await expectRefused(t, s, s.grant.authorization, 'token expired')
})

t.test('refuses a token that is not yet valid', async (t) => {
  const s = await setup(t)
  const { key, kid } = await gatewayKey(s.h)
  const nbf = Math.floor(s.h.now() / 1000) + 600
  const early = await signToken(s.grant.token, key, { kid, typ: 'lockbox-access+jwt' }, { nbf })
  await expectRefused(t, s, `Bearer ${early}`, 'token nbf invalid')
  // The same token is fine once its time has come: the checks above were about nbf alone.
  s.h.advance(601_000)
  const later = await s.h.app.inject({ url: URL, headers: { authorization: `Bearer ${early}` } })
  t.equal(later.statusCode, 200)

  const ahead = await startTestApp({ dataDir: s.h.dataDir })
  t.teardown(ahead.close)
  // A clock moved back before the real token's nbf has the same effect.
  ahead.advance(-3600_000)
  const res = await ahead.app.inject({ url: URL, headers: { authorization: s.grant.authorization } })
  t.equal(res.statusCode, 401)
})

t.test('refuses an identity token', async (t) => {
  const s = await setup(t)
  await expectRefused(t, s, `Bearer ${await s.h.token('eng-ada')}`, 'not an access token')
  await expectRefused(t, s, `Bearer ${await s.h.token('contoso-admin')}`, 'not an access token')
})

t.test('refuses a JWE, an over-long token and a crit header before any crypto', async (t) => {
  const s = await setup(t)
  const jwe = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.d29ybGQ.dGFn'
  await expectRefused(t, s, `Bearer ${jwe}`, 'token is not a compact JWS')
  const payload = decodeJwt(s.grant.token)
  const long = unsignedToken(decodeProtectedHeader(s.grant.token), { ...payload, pad: 'x'.repeat(5000) }, 'c2ln')
  await expectRefused(t, s, `Bearer ${long}`, 'token too long')
  const { key, kid } = await gatewayKey(s.h)
  // Signed with the real key: only the header's `crit` makes it unacceptable.
  const crit = await new SignJWT({ ...payload, exp: payload.exp }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'lockbox-access+jwt', crit: ['b64'], b64: true }).sign(key)
  await expectRefused(t, s, `Bearer ${crit}`, 'token has critical header parameters')
  const verifier = s.h.app.gateway.tokens
  t.equal(verifier.stats.hits, 0)
})

t.test('refuses a token that names its own key', async (t) => {
  const s = await setup(t)
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const jwk = await exportJWK(publicKey)
  const { kid } = decodeProtectedHeader(s.grant.token)
  for (const extra of [{ jwk }, { jku: 'http://127.0.0.1:9/jwks.json' }, { x5u: 'http://127.0.0.1:9/cert.pem' }, { x5c: ['MIIB'] }]) {
    const token = await signToken(s.grant.token, privateKey, { kid, typ: 'lockbox-access+jwt', ...extra })
    await expectRefused(t, s, `Bearer ${token}`, 'token names its own key')
  }
})

t.test('refuses a token signed with the gateway key but the wrong type, issuer, audience or claims', async (t) => {
  const s = await setup(t)
  const { key, kid } = await gatewayKey(s.h)
  const header = { kid, typ: 'lockbox-access+jwt' }
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, { kid, typ: 'lockbox-assertion+jwt' })}`, 'not an access token')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, { kid })}`, 'not an access token')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { iss: 'https://evil.example' })}`, 'token iss invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { aud: 'exchange' })}`, 'token aud invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { jti: undefined })}`, 'token jti invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { exp: undefined })}`, 'token exp invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { requestId: undefined })}`, 'token claims invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { workload: 'teams' })}`, 'token claims invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { accessLevel: 'admin' })}`, 'token claims invalid')
  await expectRefused(t, s, `Bearer ${await signToken(s.grant.token, key, header, { iat: 'yesterday' })}`, /^token (iat )?(claim )?invalid$/)
})

t.test('does not record a refusal that names no known tenant', async (t) => {
  const s = await setup(t)
  const res = await s.h.app.inject({ url: '/exchange/northwind-unknown/mailboxes' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
  t.same(await contentRecords(s.h, null, 'ContentAccessDenied'), [])
  t.equal(s.upstream.requests.length, 0)
})

t.test('remembers a verified token without trusting it for anything else', async (t) => {
  const s = await setup(t)
  const verifier = s.h.app.gateway.tokens
  for (let i = 0; i < 3; i++) {
    const res = await s.h.app.inject({ url: URL, headers: { authorization: s.grant.authorization } })
    t.equal(res.statusCode, 200)
  }
  t.equal(verifier.stats.misses, 1, 'one signature check')
  t.equal(verifier.stats.hits, 2)
  const outside = await s.h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com/messages', headers: { authorization: s.grant.authorization } })
  t.equal(outside.statusCode, 403, 'a cached token is still checked against its scope')
})
