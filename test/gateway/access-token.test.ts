import t, { type Test } from 'tap'
import { join } from 'node:path'
import { CompactSign, decodeJwt, SignJWT } from 'jose'
import { AccessTokenError, AccessTokenVerifier, issueAccessToken, MAX_TOKEN_LENGTH } from '../../src/gateway/access-token.js'
import { openSigningKeys, type SigningKeys } from '../../src/gateway/signing-keys.js'
import type { LockboxRequest } from '../../src/domain/lockbox.js'
import { tempDir } from '../helpers/config.js'

const NOW = Date.parse('2026-11-24T09:00:00.000Z')
const HOUR = 3600_000

function approved (id: string, endsIn = HOUR): LockboxRequest {
  return {
    id,
    tenantId: 'contoso',
    serviceRequestNumber: 'SR-1',
    workload: 'onedrive',
    scope: '/drives/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT1H',
    durationMs: HOUR,
    justification: 'sync loop',
    status: 'Approved',
    requester: { id: 'eng-ada', name: 'Ada Engineer' },
    createdAt: new Date(NOW).toISOString(),
    decisionDeadline: null,
    accessStartsAt: new Date(NOW).toISOString(),
    accessEndsAt: new Date(NOW + endsIn).toISOString(),
    history: [],
    version: 3
  }
}

async function keysIn (t: Test): Promise<SigningKeys> {
  const dir = tempDir()
  t.teardown(dir.remove)
  return await openSigningKeys(join(dir.path, 'signing-key.json'))
}

t.test('issues a token whose claims the verifier gives back', async (t) => {
  const keys = await keysIn(t)
  let now = NOW
  const verifier = new AccessTokenVerifier(keys, { now: () => now })
  const issued = await issueAccessToken(keys, approved('r1'), NOW)
  t.equal(issued.expiresAt, new Date(NOW + HOUR).toISOString())
  const claims = await verifier.verify(issued.accessToken)
  t.same(claims, { requestId: 'r1', tenantId: 'contoso', workload: 'onedrive', scope: '/drives/alice@contoso.com', accessLevel: 'read', actor: 'eng-ada', jti: issued.jti, expiresAt: NOW + HOUR })
  now += HOUR - 1000
  t.equal(verifier.cached(issued.accessToken), claims, 'remembered, and answered synchronously')
  t.equal(await verifier.verify(issued.accessToken), claims, 'and by verify')
  t.same(verifier.stats, { hits: 2, misses: 1, failures: 0 })
})

t.test('forgets a remembered token at its expiry', async (t) => {
  const keys = await keysIn(t)
  let now = NOW
  const verifier = new AccessTokenVerifier(keys, { now: () => now })
  const { accessToken } = await issueAccessToken(keys, approved('r1'), NOW)
  await verifier.verify(accessToken)
  now = NOW + HOUR
  t.equal(verifier.cached(accessToken), undefined, 'no longer answered from memory')
  await t.rejects(verifier.verify(accessToken), new AccessTokenError('token expired'))
  t.same(verifier.stats, { hits: 0, misses: 2, failures: 1 })
})

t.test('forgets the oldest remembered token when full', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW, cacheSize: 2 })
  const tokens = await Promise.all(['a', 'b', 'c'].map(async (id) => (await issueAccessToken(keys, approved(id), NOW)).accessToken))
  for (const token of tokens) await verifier.verify(token)
  t.equal(verifier.cached(tokens[2] as string)?.requestId, 'c', 'the newest is remembered')
  t.equal(verifier.cached(tokens[1] as string)?.requestId, 'b')
  t.equal(verifier.cached(tokens[0] as string), undefined, 'the oldest was forgotten')
  t.equal((await verifier.verify(tokens[0] as string)).requestId, 'a', 'and verifies again')
  t.same(verifier.stats, { hits: 2, misses: 4, failures: 0 })
})

t.test('uses a large cache by default', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW })
  const tokens = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await issueAccessToken(keys, approved(`r${i}`), NOW)).accessToken))
  for (const token of tokens) await verifier.verify(token)
  t.ok(tokens.every((token) => verifier.cached(token) !== undefined))
})

t.test('refuses a token signed by the gateway key over a payload that is not a claims set', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW })
  const jws = await new CompactSign(new TextEncoder().encode('not json'))
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: 'lockbox-access+jwt' })
    .sign(keys.privateKey)
  await t.rejects(verifier.verify(jws), new AccessTokenError('token invalid'))
})

t.test('refuses an over-long token without looking into it', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW })
  await t.rejects(verifier.verify('a'.repeat(MAX_TOKEN_LENGTH + 1)), new AccessTokenError('token too long'))
  const { accessToken } = await issueAccessToken(keys, approved('r1'), NOW)
  t.ok(accessToken.length < MAX_TOKEN_LENGTH / 4, 'an honest token is far below the limit')
  t.equal(decodeJwt(accessToken).nbf, NOW / 1000)
})

/** A token of `header` and `payload` as JSON, signed by nobody: what a precheck refuses before crypto. */
function unsigned (header: unknown, payload: unknown = {}): string {
  const part = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
  return `${part(header)}.${part(payload)}.c2ln`
}

t.test('refuses a token by its header before any crypto, each for its own reason', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW })
  const good = { alg: 'EdDSA', typ: 'lockbox-access+jwt', kid: keys.kid }
  const cases: Array<[string, string]> = [
    ['not.a jws.at all', 'token is not a compact JWS'],
    [unsigned('{not json'), 'token header is not JSON'],
    [unsigned('1'), 'token header is not an object'],
    [unsigned('null'), 'token header is not an object'],
    [unsigned({ ...good, crit: ['exp'] }), 'token has critical header parameters'],
    [unsigned({ ...good, jku: 'https://evil.example/keys' }), 'token names its own key'],
    [unsigned({ ...good, jwk: { kty: 'OKP' } }), 'token names its own key'],
    [unsigned({ ...good, x5u: 'https://evil.example/cert' }), 'token names its own key'],
    [unsigned({ ...good, x5c: ['MII='] }), 'token names its own key'],
    [unsigned({ ...good, alg: 'HS256' }), 'token algorithm not allowed'],
    [unsigned({ ...good, alg: 'none' }), 'token algorithm not allowed'],
    [unsigned({ ...good, typ: 'JWT' }), 'not an access token'],
    [unsigned({ ...good, kid: 7 }), 'unknown signing key'],
    [unsigned({ ...good, kid: 'someone-else' }), 'unknown signing key']
  ]
  for (const [token, reason] of cases) await t.rejects(verifier.verify(token), new AccessTokenError(reason), reason)
  t.same(verifier.stats, { hits: 0, misses: cases.length, failures: cases.length })
})

t.test('refuses a token signed by the gateway key whose claims are not those of an access token', async (t) => {
  const keys = await keysIn(t)
  const verifier = new AccessTokenVerifier(keys, { now: () => NOW })
  const claims = { requestId: 'r1', tenantId: 'contoso', workload: 'onedrive', scope: '/drives/alice@contoso.com', accessLevel: 'read' }
  const sign = async (payload: Record<string, unknown>, { issuer = 'urn:lockbox-gateway', audience = 'urn:lockbox-gateway:content', nbf = NOW / 1000 } = {}): Promise<string> =>
    await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: 'lockbox-access+jwt' })
      .setIssuer(issuer).setAudience(audience).setSubject('eng-ada').setJti('j1')
      .setIssuedAt(NOW / 1000).setNotBefore(nbf).setExpirationTime(NOW / 1000 + 3600).sign(keys.privateKey)
  const invalid: Array<Record<string, unknown>> = [
    { ...claims, requestId: 1 },
    { ...claims, tenantId: null },
    { ...claims, scope: ['/'] },
    { ...claims, workload: 'teams' },
    { ...claims, accessLevel: 'admin' }
  ]
  for (const payload of invalid) await t.rejects(verifier.verify(await sign(payload)), new AccessTokenError('token claims invalid'), JSON.stringify(payload))
  await t.rejects(verifier.verify(await sign(claims, { issuer: 'urn:someone-else' })), new AccessTokenError('token iss invalid'))
  await t.rejects(verifier.verify(await sign(claims, { audience: 'urn:lockbox-gateway:admin' })), new AccessTokenError('token aud invalid'))
  await t.rejects(verifier.verify(await sign(claims, { nbf: NOW / 1000 + 600 })), new AccessTokenError('token nbf invalid'), 'not yet valid')
  const forged = (await sign(claims)).replace(/\.[^.]+$/, `.${Buffer.alloc(64).toString('base64url')}`)
  await t.rejects(verifier.verify(forged), new AccessTokenError('token signature invalid'))
  t.same((await verifier.verify(await sign(claims))).requestId, 'r1', 'the same claims, as issued, verify')
})
