// Identity tokens against a real JWKS server on loopback, signed with real keys of each allowed kind.
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import {
  base64url, CompactSign, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT,
  type CryptoKey, type JWK, type JWTPayload
} from 'jose'
import { createCallerVerifier } from '../../src/identity/caller-verifier.js'
import { remoteKeys } from '../../src/identity/remote-keys.js'

const ISSUER = 'https://idp.example/tenant'
const AUDIENCE = 'api://lockbox'
const PROVIDER = 'provider'

interface SigningKey { alg: string, kid: string, privateKey: CryptoKey, publicKey: CryptoKey }

async function signingKey (alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, kid, privateKey, publicKey }
}

async function publicJwk (key: SigningKey): Promise<JWK> {
  return { ...await exportJWK(key.publicKey), kid: key.kid, use: 'sig', alg: key.alg }
}

interface JwksServer { url: string, hits: () => number, close: () => Promise<void> }

async function jwksServer (body: () => { status: number, json: unknown }): Promise<JwksServer> {
  let hits = 0
  const server: Server = createServer((req, res) => {
    hits++
    const { status, json } = body()
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

const now = (): number => Math.floor(Date.now() / 1000)

function claims (overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    name: 'Lee Gu',
    email: 'lee@contoso.com',
    preferred_username: 'lee.gu@contoso.com',
    tid: 'contoso',
    roles: ['CustomerLockboxApprover'],
    iat: now(),
    exp: now() + 300,
    ...overrides
  }
}

async function sign (key: SigningKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}): Promise<string> {
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey)
}

const part = (value: unknown): string => base64url.encode(JSON.stringify(value))

function unsigned (header: Record<string, unknown>, payload: JWTPayload): string {
  return `${part(header)}.${part(payload)}.`
}

// jose will not sign with a key this weak, so node:crypto does it by hand.
const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
function signWithWeakRsa (payload: JWTPayload): string {
  const input = `${part({ alg: 'RS256', kid: 'rsa-weak', typ: 'JWT' })}.${part(payload)}`
  return `${input}.${base64url.encode(cryptoSign('sha256', Buffer.from(input), weakRsa.privateKey))}`
}

async function hmac (secret: Uint8Array, kid: string, payload: JWTPayload = claims()): Promise<string> {
  return await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' }).sign(secret)
}

const rsa = await signingKey('RS256', 'rsa-1')
const ps = await signingKey('PS256', 'ps-1')
const ec = await signingKey('ES256', 'ec-1')
const ed = await signingKey('EdDSA', 'ed-1')
const stranger = await signingKey('RS256', 'rsa-1')
const weakJwk: JWK = { ...weakRsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-weak', alg: 'RS256', use: 'sig' }
const published = { keys: [await publicJwk(rsa), await publicJwk(ps), await publicJwk(ec), await publicJwk(ed), weakJwk] }

const idp = await jwksServer(() => ({ status: 200, json: published }))
t.teardown(idp.close)
const verifier = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: remoteKeys(idp.url), providerTenantId: PROVIDER })

async function refuses (t: Test, token: string, message: string): Promise<void> {
  await t.rejects(verifier.verify(`Bearer ${token}`), { code: 'UNAUTHENTICATED', statusCode: 401, message })
}

t.test('accepts a valid token signed with each allowed algorithm', async (t) => {
  for (const key of [rsa, ps, ec, ed]) {
    const caller = await verifier.verify(`Bearer ${await sign(key)}`)
    t.match(caller, {
      id: 'user-1',
      name: 'Lee Gu',
      email: 'lee@contoso.com',
      tenantId: 'contoso',
      provider: false
    }, key.alg)
    t.same([...caller.roles], ['CustomerLockboxApprover'], key.alg)
  }
})

t.test('accepts the Bearer scheme in any case', async (t) => {
  const caller = await verifier.verify(`bEaReR   ${await sign(ed)}  `)
  t.equal(caller.id, 'user-1')
})

t.test('accepts a token without kid when the set holds a single key of its kind', async (t) => {
  const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(ed.privateKey)
  t.equal((await verifier.verify(`Bearer ${token}`)).id, 'user-1')
})

t.test('falls back to preferred_username, then email, then sub for the display name', async (t) => {
  const noName = await verifier.verify(`Bearer ${await sign(ed, claims({ name: undefined }))}`)
  t.equal(noName.name, 'lee.gu@contoso.com')
  t.equal(noName.email, 'lee@contoso.com')

  const emailOnly = await verifier.verify(`Bearer ${await sign(ed, claims({ name: '', preferred_username: undefined }))}`)
  t.equal(emailOnly.name, 'lee@contoso.com')

  const usernameOnly = await verifier.verify(`Bearer ${await sign(ed, claims({ name: undefined, email: undefined }))}`)
  t.equal(usernameOnly.name, 'lee.gu@contoso.com')
  t.equal(usernameOnly.email, 'lee.gu@contoso.com', 'preferred_username is the address when there is no email')

  const bare = await verifier.verify(`Bearer ${await sign(ed, claims({ name: undefined, email: undefined, preferred_username: 42 }))}`)
  t.equal(bare.name, 'user-1')
  t.equal(bare.email, null)
})

t.test('refuses a missing or non-Bearer Authorization header with a helpful message', async (t) => {
  const token = await sign(ed)
  for (const header of [undefined, '', '   ']) {
    await t.rejects(verifier.verify(header), { code: 'UNAUTHENTICATED', statusCode: 401, message: /missing Authorization header.*Bearer/ })
  }
  await t.rejects(verifier.verify(`Basic ${token}`), { code: 'UNAUTHENTICATED', message: /unsupported Authorization scheme.*Bearer/ })
  await t.rejects(verifier.verify(token), { code: 'UNAUTHENTICATED', message: /unsupported Authorization scheme/ })
  await t.rejects(verifier.verify('Bearer'), { code: 'UNAUTHENTICATED', message: 'Bearer token missing' })
  await t.rejects(verifier.verify(`Bearer ${token} ${token}`), { code: 'UNAUTHENTICATED', message: /malformed Authorization header/ })
})

t.test('refuses a token whose kid is not in the key set', async (t) => {
  await refuses(t, await sign({ ...ed, kid: 'ed-unknown' }), 'unknown signing key')
})

t.test('refuses a token signed by another key under a published kid', async (t) => {
  await refuses(t, await sign(stranger), 'token signature invalid')
})

t.test('refuses a token expired beyond the 60 s tolerance and accepts one within it', async (t) => {
  await refuses(t, await sign(ec, claims({ iat: now() - 600, exp: now() - 90 })), 'token expired')
  const late = await verifier.verify(`Bearer ${await sign(ec, claims({ iat: now() - 600, exp: now() - 30 }))}`)
  t.equal(late.id, 'user-1')
})

t.test('refuses a token that is not yet valid beyond the tolerance', async (t) => {
  await refuses(t, await sign(ec, claims({ nbf: now() + 600 })), 'token not yet valid')
  t.equal((await verifier.verify(`Bearer ${await sign(ec, claims({ nbf: now() + 30 }))}`)).id, 'user-1')
})

t.test('refuses a token without exp', async (t) => {
  await refuses(t, await sign(ec, claims({ exp: undefined })), 'token has no valid expiry (exp)')
  await refuses(t, await sign(ec, claims({ exp: 'tomorrow' as unknown as number })), 'token has no valid expiry (exp)')
})

t.test('refuses a token for another audience or from another issuer', async (t) => {
  await refuses(t, await sign(rsa, claims({ aud: 'api://something-else' })), 'token audience mismatch')
  await refuses(t, await sign(rsa, claims({ aud: undefined })), 'token audience mismatch')
  await refuses(t, await sign(rsa, claims({ iss: 'https://evil.example/' })), 'token issuer mismatch')
})

t.test('refuses an unsigned token (alg none)', async (t) => {
  await refuses(t, unsigned({ alg: 'none', typ: 'JWT' }, claims()), 'token algorithm not allowed')
  await refuses(t, unsigned({ alg: 'none', kid: 'rsa-1' }, claims()), 'token algorithm not allowed')
})

t.test('refuses HS256, including one keyed with the RSA public key (algorithm confusion)', async (t) => {
  await refuses(t, await hmac(new TextEncoder().encode('a shared secret of sufficient length!!'), 'rsa-1'), 'token algorithm not allowed')
  const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey))
  await refuses(t, await hmac(pem, 'rsa-1'), 'token algorithm not allowed')
})

t.test('refuses a token signed with an RSA key shorter than 2048 bits', async (t) => {
  await refuses(t, signWithWeakRsa(claims()), 'token invalid')
})

t.test('refuses malformed tokens without echoing the parser', async (t) => {
  await refuses(t, 'not-a-token', 'token malformed')
  await refuses(t, 'a.b.c.d.e', 'token malformed')
  const notJson = await new CompactSign(new TextEncoder().encode('not json'))
    .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-1' }).sign(ed.privateKey)
  await refuses(t, notJson, 'token malformed')
  // jose will not sign with an unknown critical header either: the signature part is never reached.
  await refuses(t, `${unsigned({ alg: 'EdDSA', kid: 'ed-1', crit: ['x-unknown'], 'x-unknown': 1 }, claims())}c2ln`, 'token uses an unsupported feature')
  await refuses(t, await sign(ed, claims({ iat: 'yesterday' as unknown as number })), 'token claims invalid')
})

t.test('refuses a token without sub or tid', async (t) => {
  await refuses(t, await sign(ed, claims({ sub: undefined })), 'token has no subject (sub)')
  await refuses(t, await sign(ed, claims({ sub: 7 as unknown as string })), 'token has no subject (sub)')
  await refuses(t, await sign(ed, claims({ tid: undefined })), 'token has no tenant (tid)')
  await refuses(t, await sign(ed, claims({ tid: '' })), 'token has no tenant (tid)')
})

t.test('refuses a lockbox access or assertion token, even one signed by a trusted key', async (t) => {
  await refuses(t, await sign(ed, claims(), { typ: 'lockbox-access+jwt' }), 'a lockbox access token is not an identity token')
  await refuses(t, await sign(ed, claims(), { typ: 'application/Lockbox-Access+JWT' }), 'a lockbox access token is not an identity token')
  await refuses(t, await sign(ed, claims(), { typ: 'lockbox-assertion+jwt' }), 'a lockbox access token is not an identity token')
})

t.test('refuses a lockbox access token before fetching any key', async (t) => {
  const fresh = await jwksServer(() => ({ status: 200, json: published }))
  t.teardown(fresh.close)
  const verifier = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: remoteKeys(fresh.url), providerTenantId: PROVIDER })
  const token = await sign({ ...ed, kid: 'gateway-key' }, claims(), { typ: 'lockbox-access+jwt' })
  await t.rejects(verifier.verify(`Bearer ${token}`), { code: 'UNAUTHENTICATED', message: 'a lockbox access token is not an identity token' })
  t.equal(fresh.hits(), 0, 'the JWKS endpoint is never asked')
})

t.test('counts customer roles only for a customer tenant and provider roles only for the provider', async (t) => {
  const rogue = await verifier.verify(`Bearer ${await sign(ed, claims({ roles: ['SupportEngineer', 'SecurityReader', 'GlobalAdministrator'] }))}`)
  t.equal(rogue.provider, false)
  t.same([...rogue.roles], ['GlobalAdministrator'], 'a customer keeps its customer role and gets no provider role')

  const engineer = await verifier.verify(`Bearer ${await sign(ed, claims({ tid: PROVIDER, roles: ['SupportEngineer', 'Unknown'] }))}`)
  t.equal(engineer.provider, true)
  t.same([...engineer.roles], ['SupportEngineer'])

  const admin = await verifier.verify(`Bearer ${await sign(ed, claims({ tid: PROVIDER, roles: ['GlobalAdministrator', 'CustomerLockboxApprover'] }))}`)
  t.equal(admin.provider, true)
  t.equal(admin.roles.size, 0, 'the provider cannot hold a customer role')

  const scalar = await verifier.verify(`Bearer ${await sign(ed, claims({ tid: PROVIDER, roles: 'SupportManager' }))}`)
  t.equal(scalar.roles.size, 0, 'roles must be an array')
})

t.test('refuses a token without kid when several keys of its kind are published', async (t) => {
  const other = await signingKey('EdDSA', 'ed-2')
  const keys = createLocalJWKSet({ keys: [await publicJwk(ed), await publicJwk(other)] })
  const local = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, providerTenantId: PROVIDER })
  const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(ed.privateKey)
  await t.rejects(local.verify(`Bearer ${token}`), { code: 'UNAUTHENTICATED', message: 'token does not name its signing key (kid)' })
})

t.test('answers 503 when the JWKS endpoint is down', async (t) => {
  const gone = await jwksServer(() => ({ status: 200, json: published }))
  await gone.close()
  const down = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: remoteKeys(gone.url), providerTenantId: PROVIDER })
  await t.rejects(down.verify(`Bearer ${await sign(ed)}`), { code: 'UNAVAILABLE', statusCode: 503, message: 'identity provider unreachable' })
})

t.test('answers 503 when the JWKS endpoint fails or serves no key set', async (t) => {
  for (const reply of [{ status: 500, json: { error: 'boom' } }, { status: 200, json: { not: 'a key set' } }]) {
    const broken = await jwksServer(() => reply)
    t.teardown(broken.close)
    const failing = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: remoteKeys(broken.url), providerTenantId: PROVIDER })
    await t.rejects(failing.verify(`Bearer ${await sign(ed)}`), { code: 'UNAVAILABLE', statusCode: 503, message: 'identity provider unreachable' })
  }
})
