// The dev OpenID provider end to end over real HTTP: discovery, the code flow with PKCE through its
// sign-in page, refresh tokens, the device flow, and what it refuses.
import t, { type Test } from 'tap'
import type { Config } from '../../config/schema.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { Agent, claimsOf, redeem, signInWithCode, type AuthConfig } from '../helpers/oidc-agent.js'

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
