// The dev OpenID provider end to end over real HTTP: discovery, the code flow with PKCE through its
// sign-in page, refresh tokens, the device flow, and what it refuses.
import t, { type Test } from 'tap'
import type { Config } from '../../config/schema.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { Agent, claimsOf, redeem, signInWithCode, type AuthConfig } from '../helpers/oidc-agent.js'
import { devRedirectUris } from '../../src/identity/dev-client.js'
import { fileAdapter } from '../../src/identity/dev-provider-store.js'
import { tempDir } from '../helpers/config.js'

async function serve (t: Test, config: Partial<Config> = {}): Promise<{ base: string, auth: AuthConfig, h: TestApp }> {
  const h = await startTestApp({ config })
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const auth = await (await fetch(`${base}/v1/auth/config`)).json() as AuthConfig
  return { base, auth, h }
}

t.test('signs a user in with the code flow and PKCE; the identity token works on /v1', async (t) => {
  const { base, auth, h } = await serve(t)
  t.match(auth, { issuer: 'http://127.0.0.1:8080/dev/oidc', dev: true, clientId: 'lockbox-gateway', authorizationEndpoint: `${base}/dev/oidc/auth` })
  const discovery = await (await fetch(`${base}/dev/oidc/.well-known/openid-configuration`)).json() as Record<string, unknown>
  t.equal(discovery.issuer, auth.issuer)
  t.equal(discovery.token_endpoint, auth.tokenEndpoint)
  t.equal(discovery.device_authorization_endpoint, auth.deviceAuthorizationEndpoint)
  t.equal(discovery.end_session_endpoint, auth.endSessionEndpoint)

  const agent = new Agent()
  const signIn = await signInWithCode(agent, auth, base, 'contoso-approver')
  t.equal(signIn.callback.origin + signIn.callback.pathname, `${base}/admin/`)
  t.equal(signIn.callback.searchParams.get('state'), signIn.state)
  t.equal(signIn.callback.searchParams.get('iss'), auth.issuer)
  const code = signIn.callback.searchParams.get('code') as string
  const tokens = await redeem(auth, { grant_type: 'authorization_code', code, redirect_uri: signIn.redirectUri, code_verifier: signIn.verifier })
  t.equal(tokens.status, 200, JSON.stringify(tokens.body))
  // Signed in at the provider: the next sign-in in this browser comes straight back, without the page.
  const again = await agent.follow(`${base}/dev/oidc/auth?` + new URLSearchParams({ response_type: 'code', client_id: auth.clientId, redirect_uri: signIn.redirectUri, scope: 'openid', state: 's2', nonce: 'n2', code_challenge: 'y'.repeat(43), code_challenge_method: 'S256' }).toString(), `${base}/dev/oidc/`)
  t.match(again.url, `${base}/admin/?code=`)
  const claims = claimsOf(tokens.body.id_token)
  t.match(claims, { iss: auth.issuer, aud: 'lockbox-gateway', sub: 'contoso-approver', nonce: signIn.nonce, tid: 'contoso', roles: ['CustomerLockboxApprover'], preferred_username: 'lee@contoso.com', name: 'Lee Gu' })
  t.type(tokens.body.refresh_token, 'string')
  const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.body.id_token as string}` } })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { id: 'contoso-approver', tenantId: 'contoso', roles: ['CustomerLockboxApprover'] })

  // The refresh token gives a fresh identity token for the same user (and, a public client, a new refresh token).
  const refreshed = await redeem(auth, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token })
  t.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
  t.match(claimsOf(refreshed.body.id_token), { iss: auth.issuer, sub: 'contoso-approver', tid: 'contoso', roles: ['CustomerLockboxApprover'] })
  t.not(refreshed.body.refresh_token, tokens.body.refresh_token, 'refresh tokens rotate')

  // A code is good once: the replay is refused, and revokes what the code gave (RFC 6749 §4.1.2).
  const replay = await redeem(auth, { grant_type: 'authorization_code', code, redirect_uri: signIn.redirectUri, code_verifier: signIn.verifier })
  t.equal(replay.status, 400)
  t.equal(replay.body.error, 'invalid_grant')
  const afterReplay = await redeem(auth, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })
  t.equal(afterReplay.body.error, 'invalid_grant')
})

t.test('refuses a code without its PKCE verifier, or with the wrong one', async (t) => {
  const { base, auth } = await serve(t)
  const signIn = await signInWithCode(new Agent(), auth, base, 'eng-ada')
  const code = signIn.callback.searchParams.get('code') as string
  const wrong = await redeem(auth, { grant_type: 'authorization_code', code, redirect_uri: signIn.redirectUri, code_verifier: 'x'.repeat(43) })
  t.equal(wrong.status, 400)
  t.equal(wrong.body.error, 'invalid_grant')
})

t.test('two gateway processes on one data dir are one provider: a code or refresh token from one is good at the other', async (t) => {
  const a = await startTestApp()
  const b = await startTestApp({ dataDir: a.dataDir })
  t.teardown(async () => { await b.close(); await a.close() })
  const baseA = await a.app.listen({ host: '127.0.0.1', port: 0 })
  const baseB = await b.app.listen({ host: '127.0.0.1', port: 0 })
  const authA = await (await fetch(`${baseA}/v1/auth/config`)).json() as AuthConfig
  const authB = await (await fetch(`${baseB}/v1/auth/config`)).json() as AuthConfig

  const signIn = await signInWithCode(new Agent(), authA, baseA, 'mgr-carol')
  const tokens = await redeem(authB, { grant_type: 'authorization_code', code: signIn.callback.searchParams.get('code') as string, redirect_uri: signIn.redirectUri, code_verifier: signIn.verifier })
  t.equal(tokens.status, 200, JSON.stringify(tokens.body))
  const refreshed = await redeem(authA, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token })
  t.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
  for (const h of [a, b]) {
    const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${refreshed.body.id_token as string}` } })
    t.equal(me.statusCode, 200)
  }
  // A gateway whose users file no longer lists the user: the refresh token stops working there.
  const c = await startTestApp({ dataDir: a.dataDir, config: { devUsers: a.config.devUsers.filter((u) => u.id !== 'mgr-carol') } })
  t.teardown(c.close)
  const baseC = await c.app.listen({ host: '127.0.0.1', port: 0 })
  const gone = await redeem({ ...authA, tokenEndpoint: `${baseC}/dev/oidc/token` }, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })
  t.equal(gone.body.error, 'invalid_grant')

  // The device flow too: started at one, polled at the other.
  const device = await (await fetch(`${baseA}/dev/oidc/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'lockbox-gateway', scope: 'openid' }) })).json() as Record<string, string>
  const pending = await redeem(authB, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code as string })
  t.equal(pending.body.error, 'authorization_pending')
})

t.test('refuses a sign-in page for a finished or unknown interaction, and a sign-in as nobody', async (t) => {
  const { base, auth } = await serve(t)
  const agent = new Agent()
  const gone = await agent.request(`${base}/dev/oidc/interaction/unknown`)
  t.equal(gone.status, 400)
  t.match(await gone.text(), 'This sign-in has expired')
  t.match(gone.headers.get('content-security-policy'), "frame-ancestors 'none'")

  const url = new URL(auth.authorizationEndpoint)
  url.search = new URLSearchParams({ response_type: 'code', client_id: auth.clientId, redirect_uri: `${base}/admin/`, scope: 'openid', state: 's', nonce: 'n', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString()
  const { url: pageUrl, res } = await agent.follow(url.href, `${base}/dev/oidc/`)
  await res.arrayBuffer()
  const nobody = await agent.request(`${pageUrl}/login`, { method: 'POST', body: new URLSearchParams({ user: 'mallory' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(nobody.status, 400)
  t.match(await nobody.text(), 'Choose one of the listed users.')
  const noForm = await agent.request(`${pageUrl}/login`, { method: 'POST' })
  t.equal(noForm.status, 400)
  await noForm.arrayBuffer()
  const stranger = await new Agent().request(`${pageUrl}/login`, { method: 'POST', body: new URLSearchParams({ user: 'eng-ada' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(stranger.status, 400, 'without the interaction cookie the sign-in is not this browser\'s')
  await stranger.arrayBuffer()

  // A provider error is its own page, not a stack trace.
  const bad = await agent.request(`${base}/dev/oidc/auth?client_id=nobody&response_type=code`)
  t.equal(bad.status, 400)
  t.match(await bad.text(), /Sign-in failed[\s\S]*invalid_client/)
})

t.test('signs out at the provider (RP-initiated logout), back to the admin center or to its own page', async (t) => {
  const { base, auth } = await serve(t)
  const agent = new Agent()
  await signInWithCode(agent, auth, base, 'eng-ada')
  t.ok(agent.cookies.has('_session'), 'a provider session')
  const within = `${base}/dev/oidc/`
  const end = new URL(auth.endSessionEndpoint as string)
  end.search = new URLSearchParams({ client_id: auth.clientId, post_logout_redirect_uri: `${base}/admin/` }).toString()
  const ask = await agent.follow(end.href, within)
  const askPage = await ask.res.text()
  t.match(askPage, 'Sign out of the dev provider?')
  const back = await agent.submit(ask.url, askPage, within, { logout: 'yes' })
  t.equal(back.url, `${base}/admin/`)
  t.notOk(agent.cookies.has('_session'), 'the provider session is over')

  // Without a place to go back to, the provider says so itself.
  await signInWithCode(agent, auth, base, 'eng-ada')
  const plain = await agent.follow(auth.endSessionEndpoint as string, within)
  const done = await agent.submit(plain.url, await plain.res.text(), within, { logout: 'yes' })
  t.match(await done.res.text(), 'You have signed out of the dev provider.')
})

t.test('the device page says when a code is wrong', async (t) => {
  const { base } = await serve(t)
  const agent = new Agent()
  const within = `${base}/dev/oidc/`
  const input = await agent.follow(`${base}/dev/oidc/device`, within)
  const inputPage = await input.res.text()
  t.match(inputPage, 'Enter the code the Lockbox CLI printed.')
  const wrong = await agent.submit(input.url, inputPage, within, { user_code: 'WXYZ-WXYZ' })
  t.match(await wrong.res.text(), 'That code is not valid.')
})

t.test('answers a browser\'s token request only from the gateway\'s own origin or its public one', async (t) => {
  const { base, auth } = await serve(t)
  const fromOrigin = async (origin: string): Promise<{ status: number, body: Record<string, any>, allowed: string | null }> => {
    const res = await fetch(auth.tokenEndpoint, { method: 'POST', headers: { origin }, body: new URLSearchParams({ client_id: auth.clientId, grant_type: 'refresh_token', refresh_token: 'not-a-token' }) })
    return { status: res.status, body: await res.json() as Record<string, any>, allowed: res.headers.get('access-control-allow-origin') }
  }
  const foreign = await fromOrigin('https://evil.example')
  t.equal(foreign.status, 400)
  t.match(foreign.body, { error: 'invalid_request', error_description: /origin https:\/\/evil\.example not allowed/ })
  t.equal(foreign.allowed, null)
  // The public URL (LOCKBOX_PUBLIC_URL) is another origin than the address this test reached it at.
  for (const origin of [base, 'http://127.0.0.1:8080']) {
    const own = await fromOrigin(origin)
    t.equal(own.body.error, 'invalid_grant', `${origin}: the request itself is judged`)
    t.equal(own.allowed, origin)
  }
})

t.test('the dev client redirects to loopback addresses on any port, and to an https public URL', async (t) => {
  t.notOk(devRedirectUris('http://lockbox.internal:8080').redirect.some((uri) => uri.includes('lockbox.internal')), 'plain http only on loopback')
  const https = devRedirectUris('https://lockbox.example')
  t.ok(https.redirect.includes('https://lockbox.example/admin/'))
  t.ok(https.postLogout.includes('https://lockbox.example/admin/'))
})

t.test('the provider\'s state files expire, and revoking a grant removes what it issued', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  let clock = 1_000_000
  const Adapter = fileAdapter(dir.path, () => clock)
  const codes = new Adapter('AuthorizationCode')
  await codes.upsert('c1', { grantId: 'g1', uid: 'u1' }, 10)
  await codes.upsert('c2', { grantId: 'g1' })
  t.match(await codes.find('c1'), { grantId: 'g1' })
  t.match(await codes.findByUid('u1'), { grantId: 'g1' })
  await codes.consume('c1')
  t.equal((await codes.find('c1'))?.consumed, 1000)
  await codes.consume('nothing')
  clock += 10_000
  t.equal(await codes.find('c1'), undefined, 'expired')
  t.equal(await codes.findByUid('u1'), undefined)
  t.equal(await codes.findByUserCode('none'), undefined)
  await codes.revokeByGrantId('g1')
  t.equal(await codes.find('c2'), undefined, 'revoked with its grant')
  await codes.revokeByGrantId('never-issued')
  await codes.destroy('c2')
})
