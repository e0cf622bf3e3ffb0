// A gateway configured with an identity provider (LOCKBOX_OIDC_ISSUER) reads the provider's discovery
// document: the provider here is a real OpenID provider, another gateway's dev provider, on a real port.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { importJWK, SignJWT, type JWK } from 'jose'
import t, { type Test } from 'tap'
import type { Config } from '../../config/schema.js'
import { openDiscovery, parseMetadata } from '../../src/identity/discovery.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { Agent, redeem, signInWithCode, type AuthConfig } from '../helpers/oidc-agent.js'
import { startOddGateway } from '../cli/run.js'

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

/** The organisation's identity provider: a gateway's dev provider listening where its issuer says. */
async function identityProvider (t: Test): Promise<{ h: TestApp, issuer: string }> {
  const port = await freePort()
  const h = await startTestApp({ config: { port, publicUrl: `http://127.0.0.1:${port}` } })
  t.teardown(h.close)
  await h.app.listen({ host: '127.0.0.1', port })
  return { h, issuer: `http://127.0.0.1:${port}/dev/oidc` }
}

async function gatewayFor (t: Test, oidc: NonNullable<Config['oidc']>): Promise<{ h: TestApp, base: string }> {
  const h = await startTestApp({ config: { oidc, devUsers: [] } })
  t.teardown(h.close)
  return { h, base: await h.app.listen({ host: '127.0.0.1', port: 0 }) }
}

t.test('discovers the provider\'s endpoints and keys, publishes them for clients, and accepts only its tokens', async (t) => {
  const idp = await identityProvider(t)
  const { h, base } = await gatewayFor(t, { issuer: idp.issuer, audience: 'lockbox-gateway', clientId: 'lockbox-gateway', name: 'Acme SSO' })

  const res = await fetch(`${base}/v1/auth/config`)
  t.equal(res.status, 200)
  const auth = await res.json() as AuthConfig
  t.same(auth, {
    issuer: idp.issuer,
    name: 'Acme SSO',
    dev: false,
    clientId: 'lockbox-gateway',
    scopes: 'openid profile email offline_access',
    authorizationEndpoint: `${idp.issuer}/auth`,
    tokenEndpoint: `${idp.issuer}/token`,
    deviceAuthorizationEndpoint: `${idp.issuer}/device/auth`,
    endSessionEndpoint: `${idp.issuer}/session/end`
  })
  const page = await h.app.inject({ method: 'GET', url: '/admin/' })
  t.match(page.headers['content-security-policy'], `connect-src 'self' ${new URL(idp.issuer).origin};`, 'the admin pages may call the provider\'s token endpoint')

  // A user signs in at the provider (the code flow, as the admin center does): this gateway takes the token.
  const signIn = await signInWithCode(new Agent(), auth, `${new URL(idp.issuer).origin}`, 'fabrikam-approver', `${base}/admin/`)
  const tokens = await redeem(auth, { grant_type: 'authorization_code', code: signIn.callback.searchParams.get('code') as string, redirect_uri: signIn.redirectUri, code_verifier: signIn.verifier })
  t.equal(tokens.status, 200)
  const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.body.id_token as string}` } })
  t.equal(me.statusCode, 200, me.body)
  t.match(me.json(), { id: 'fabrikam-approver', tenantId: 'fabrikam', roles: ['CustomerLockboxApprover'] })

  // The provider's key, but another issuer: refused.
  const key = await importJWK(JSON.parse(readFileSync(join(idp.h.dataDir, 'dev-issuer-key.json'), 'utf8')) as JWK, 'EdDSA')
  const kid = (JSON.parse(readFileSync(join(idp.h.dataDir, 'dev-issuer-key.json'), 'utf8')) as { kid: string }).kid
  const elsewhere = await new SignJWT({ tid: 'fabrikam', roles: ['CustomerLockboxApprover'] })
    .setProtectedHeader({ alg: 'EdDSA', kid }).setIssuer('https://login.evil.example').setAudience('lockbox-gateway')
    .setSubject('fabrikam-approver').setIssuedAt().setExpirationTime('5m').sign(key)
  const refused = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${elsewhere}` } })
  t.equal(refused.statusCode, 401)
  t.match(refused.json(), { code: 'UNAUTHENTICATED', detail: 'token issuer mismatch' })

  // Another provider's token (its own key and issuer): refused.
  const other = await startTestApp({ config: { publicUrl: 'http://127.0.0.1:9' } })
  t.teardown(other.close)
  const foreign = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${await other.token('fabrikam-approver')}` } })
  t.equal(foreign.statusCode, 401)

  // Without a client id or name: nothing to sign in with interactively; keys from the JWKS override.
  const plain = await gatewayFor(t, { issuer: idp.issuer, audience: 'lockbox-gateway', jwksUrl: `${idp.issuer}/jwks` })
  const plainAuth = await (await fetch(`${plain.base}/v1/auth/config`)).json() as Record<string, unknown>
  t.match(plainAuth, { clientId: null, name: '127.0.0.1', scopes: 'openid profile email offline_access' })
  const viaOverride = await plain.h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.body.id_token as string}` } })
  t.equal(viaOverride.statusCode, 200)

  // No dev provider, no dev tokens, where a real one is configured.
  t.equal((await h.app.inject({ method: 'GET', url: '/dev/oidc/.well-known/openid-configuration' })).statusCode, 404)
  t.equal((await h.app.inject({ method: 'POST', url: '/dev/token', payload: { user: 'eng-ada' } })).statusCode, 404)
})

t.test('a provider that cannot be discovered makes sign-in unavailable (503), not open', async (t) => {
  const odd = await startOddGateway((req, res) => {
    res.setHeader('content-type', 'application/json')
    // One request per connection: a gateway under load never reuses a socket the server is closing.
    res.setHeader('connection', 'close')
    if (req.url === '/wrong/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: 'https://impostor.example' }))
    else if (req.url === '/text/.well-known/openid-configuration') res.end('not json')
    else res.writeHead(404).end('{}')
  })
  t.teardown(odd.close)
  for (const [path, says] of [['/wrong', 'names issuer "https://impostor.example"'], ['/text', 'is not JSON'], ['/missing', 'answered 404']]) {
    const { h } = await gatewayFor(t, { issuer: `${odd.url}${path as string}`, audience: 'lockbox', clientId: 'lockbox' })
    const res = await h.app.inject({ method: 'GET', url: '/v1/auth/config' })
    t.equal(res.statusCode, 503)
    t.match(res.json(), { code: 'UNAVAILABLE', detail: says })
    const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' } })
    t.equal(me.statusCode, 503, 'no keys without discovery: unavailable, never accepted')
  }
  const unreachable = openDiscovery(`http://127.0.0.1:${await freePort()}/idp`)
  await t.rejects(unreachable.metadata(), { code: 'UNAVAILABLE', message: /unreachable \(ECONNREFUSED\)/ })
  const silent = await startOddGateway(() => {})
  t.teardown(silent.close)
  await t.rejects(openDiscovery(`${silent.url}/idp`, { timeoutMs: 50 }).metadata(), { message: /unreachable \(TimeoutError\)/ })
})

t.test('retries a failed discovery after its cooldown, and keeps a good one', async (t) => {
  let answers = 0
  let good = false
  const odd = await startOddGateway((_req, res) => {
    answers += 1
    res.setHeader('connection', 'close')
    if (!good) {
      res.writeHead(500).end()
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ issuer: `${odd.url}/idp`, jwks_uri: `${odd.url}/keys`, authorization_endpoint: `${odd.url}/auth`, token_endpoint: `${odd.url}/token` }))
  })
  t.teardown(odd.close)
  let clock = 0
  const discovery = openDiscovery(`${odd.url}/idp`, { cooldownMs: 1000, now: () => clock })
  await t.rejects(discovery.metadata(), { message: /answered 500/ })
  good = true
  await t.rejects(discovery.metadata(), { message: /answered 500/ }, 'within the cooldown: the remembered failure')
  t.equal(answers, 1)
  clock += 1000
  t.match(await discovery.metadata(), { tokenEndpoint: `${odd.url}/token`, deviceAuthorizationEndpoint: null, endSessionEndpoint: null })
  clock += 10_000
  await discovery.metadata()
  t.equal(answers, 2, 'a good document is kept')
})

t.test('checks the document: its issuer, and endpoints that are URLs (https for an https issuer)', async (t) => {
  const issuer = 'https://login.example.com/tenant/v2.0'
  const doc = { issuer, jwks_uri: `${issuer}/keys`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, end_session_endpoint: `${issuer}/logout` }
  t.match(parseMetadata(issuer, doc), { jwksUri: `${issuer}/keys`, endSessionEndpoint: `${issuer}/logout`, deviceAuthorizationEndpoint: null })
  t.throws(() => parseMetadata(issuer, null), { name: 'DiscoveryError', message: /names issuer undefined/ })
  t.throws(() => parseMetadata(issuer, { ...doc, token_endpoint: 'http://login.example.com/token' }), { message: /token_endpoint is not a usable URL/ })
  t.throws(() => parseMetadata(issuer, { ...doc, jwks_uri: 'not a url' }), { message: /jwks_uri is not a usable URL/ })
  t.throws(() => parseMetadata(issuer, { ...doc, authorization_endpoint: undefined }), { message: /authorization_endpoint missing/ })
  t.throws(() => parseMetadata(issuer, { ...doc, device_authorization_endpoint: 42 }), { message: /device_authorization_endpoint is not a usable URL/ })
})
