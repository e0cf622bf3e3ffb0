// The CLI's OpenID client against a scripted identity provider on a real port: every answer a
// provider may give to the device flow, the browser flow and a refresh, and what the CLI makes of it.
import { PassThrough } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { authConfig, browserOpener, refreshSignIn, signIn, unverifiedClaims, type AuthConfig } from '../../src/cli/sign-in.js'
import { GatewayClient } from '../../src/cli/http.js'
import { Output } from '../../src/cli/output.js'
import { startOddGateway } from './run.js'

const ISSUER = 'https://idp.example'
const jwt = (claims: Record<string, unknown>): string => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`

type Handler = (req: IncomingMessage, body: URLSearchParams, res: ServerResponse) => void

/** A provider whose answers the test scripts, one handler per call in order. */
async function provider (t: Test, handlers: Handler[]): Promise<{ config: AuthConfig, calls: URLSearchParams[] }> {
  const calls: URLSearchParams[] = []
  const server = await startOddGateway((req, res) => {
    let text = ''
    req.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => {
      const body = new URLSearchParams(text)
      calls.push(body)
      res.setHeader('connection', 'close')
      const handler = handlers.shift()
      if (handler === undefined) res.writeHead(500).end('{"error":"unexpected call"}')
      else handler(req, body, res)
    })
  })
  t.teardown(server.close)
  return {
    calls,
    config: {
      issuer: ISSUER,
      name: 'Scripted IdP',
      dev: false,
      clientId: 'cli',
      scopes: 'openid offline_access',
      authorizationEndpoint: `${server.url}/authorize`,
      tokenEndpoint: `${server.url}/token`,
      deviceAuthorizationEndpoint: `${server.url}/device`,
      endSessionEndpoint: null
    }
  }
}

const json = (status: number, body: unknown): Handler => (_req, _body, res) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function output (): { out: Output, said: () => string } {
  const stderr = new PassThrough()
  let said = ''
  stderr.setEncoding('utf8').on('data', (c: string) => { said += c })
  return { out: new Output({ json: false, stdout: new PassThrough(), stderr, env: {} }), said: () => said }
}

/** Stands in for the user's browser: resolves with the URL the CLI opens. */
function opener (): { open: (url: string) => void, opened: Promise<string> } {
  let open: (url: string) => void = () => {}
  const opened = new Promise<string>((resolve) => { open = resolve })
  return { open, opened }
}

const noSleep = async (): Promise<void> => {}
const neverOpen = (): void => {}
const DEVICE_START = json(200, { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://idp.example/device' })

t.test('polls the device flow through pending and slow_down, and keeps the refresh token', async (t) => {
  const { config, calls } = await provider(t, [
    DEVICE_START,
    json(400, { error: 'authorization_pending' }),
    json(400, { error: 'slow_down' }),
    json(200, { id_token: jwt({ iss: ISSUER, sub: 'u1' }), refresh_token: 'rt1' })
  ])
  const waits: number[] = []
  const { out, said } = output()
  const result = await signIn(config, { out, openBrowser: neverOpen, sleep: async (ms) => { waits.push(ms) } })
  t.same(result.signIn, { issuer: ISSUER, clientId: 'cli', tokenEndpoint: config.tokenEndpoint, refreshToken: 'rt1' })
  t.same(waits, [5000, 5000, 10_000], 'the RFC default interval, five seconds more after slow_down')
  t.match(said(), 'To sign in, open https://idp.example/device and enter the code ABCD-EFGH')
  t.equal(calls[0]?.get('scope'), 'openid offline_access')
  t.equal(calls[1]?.get('grant_type'), 'urn:ietf:params:oauth:grant-type:device_code')
})

t.test('stops the device flow when the user declines, the code expires, or the provider refuses to start', async (t) => {
  const declined = await provider(t, [DEVICE_START, json(400, { error: 'access_denied', error_description: 'the user said no' })])
  await t.rejects(signIn(declined.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: 'the device sign-in did not complete (access_denied: the user said no)', exitCode: 1 })

  const expiring = await provider(t, [json(200, { device_code: 'dc', user_code: 'X', verification_uri: 'u', expires_in: 0, interval: 1 })])
  await t.rejects(signIn(expiring.config, { ...output(), openBrowser: neverOpen, sleep: async () => { await new Promise((resolve) => setTimeout(resolve, 5)) } }), { message: /device code expired/ })

  const refusing = await provider(t, [json(400, { error: 'invalid_client' })])
  await t.rejects(signIn(refusing.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: 'the identity provider refused to start a device sign-in (invalid_client)' })

  const silent = await provider(t, [json(400, {})])
  await t.rejects(signIn(silent.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: 'the identity provider refused to start a device sign-in (no reason given)' })
  const described = await provider(t, [json(400, { error_description: 'client disabled' })])
  await t.rejects(signIn(described.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: 'the identity provider refused to start a device sign-in (error: client disabled)' })

  const notJson = await provider(t, [(_req, _body, res) => { res.writeHead(502).end('<html>bad gateway</html>') }])
  await t.rejects(signIn(notJson.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: /\(HTTP 502\)/ })

  const { config } = await provider(t, [])
  await t.rejects(signIn({ ...config, deviceAuthorizationEndpoint: null }, { ...output(), flow: 'device', openBrowser: neverOpen }), { name: 'UsageError', message: 'Scripted IdP does not offer the device flow' })
  await t.rejects(signIn({ ...config, deviceAuthorizationEndpoint: 'http://127.0.0.1:1/device' }, { ...output(), openBrowser: neverOpen }), { message: /cannot reach the identity provider at http:\/\/127\.0\.0\.1:1/ })
})

t.test('checks the identity token it gets: present, from the issuer it asked', async (t) => {
  const none = await provider(t, [DEVICE_START, json(200, { access_token: 'only' })])
  await t.rejects(signIn(none.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: /returned no identity token \(no id_token: ask for the openid scope/ })
  const other = await provider(t, [DEVICE_START, json(200, { id_token: jwt({ iss: 'https://evil.example' }) })])
  await t.rejects(signIn(other.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: 'the identity token is from https://evil.example, not https://idp.example' })
  const garbled = await provider(t, [DEVICE_START, json(200, { id_token: 'not-a-jwt' })])
  await t.rejects(signIn(garbled.config, { ...output(), openBrowser: neverOpen, sleep: noSleep }), { message: /is from undefined/ })
  t.same(unverifiedClaims('a.%%%.c'), {})
})

t.test('the browser flow: sends PKCE, state and nonce; refuses a nonce mismatch, a provider error and silence', async (t) => {
  for (const [answer, message] of [
    [(q: URLSearchParams) => `code=c1&state=${q.get('state') as string}`, /does not carry the nonce/],
    [(q: URLSearchParams) => `error=access_denied&error_description=nope&state=${q.get('state') as string}`, /sign-in failed: access_denied: nope/],
    [(q: URLSearchParams) => `state=${q.get('state') as string}`, /sign-in failed: no code/]
  ] as const) {
    const { config, calls } = await provider(t, [json(200, { id_token: jwt({ iss: ISSUER, nonce: 'not the one sent' }) })])
    const browser = opener()
    // Settled as soon as the answer arrives, possibly before the test's own request returns.
    const pending = signIn({ ...config, deviceAuthorizationEndpoint: null }, { ...output(), openBrowser: browser.open }).catch((err: unknown) => err)
    const url = new URL(await browser.opened)
    t.equal(url.searchParams.get('code_challenge_method'), 'S256')
    const redirect = url.searchParams.get('redirect_uri') as string
    t.equal((await fetch(`${new URL(redirect).origin}/favicon.ico`)).status, 404, 'only /callback answers')
    await (await fetch(`${redirect}?${answer(url.searchParams)}`)).arrayBuffer()
    t.match(await pending, { message })
    if (calls.length > 0) t.equal(calls[0]?.get('code_verifier')?.length, 43)
  }
  const { config } = await provider(t, [])
  await t.rejects(signIn({ ...config, deviceAuthorizationEndpoint: null }, { ...output(), openBrowser: neverOpen, timeoutMs: 50 }), { message: /no answer from the browser in time/ })
  const refusing = await provider(t, [json(400, { error: 'invalid_grant' })])
  const browser = opener()
  const pending = signIn(refusing.config, { ...output(), flow: 'browser', openBrowser: browser.open })
  const url = new URL(await browser.opened)
  await (await fetch(`${url.searchParams.get('redirect_uri') as string}?code=c&state=${url.searchParams.get('state') as string}`)).arrayBuffer()
  await t.rejects(pending, { message: 'the identity provider refused the sign-in code (invalid_grant)' })
})

t.test('a refresh keeps the stored refresh token when the provider sends no new one', async (t) => {
  const { config } = await provider(t, [json(200, { id_token: jwt({ iss: ISSUER, sub: 'u1' }) })])
  const stored = { issuer: ISSUER, clientId: 'cli', tokenEndpoint: config.tokenEndpoint, refreshToken: 'keep-me' }
  t.same((await refreshSignIn(stored)).signIn, stored)
})

t.test('asks the gateway how to sign in, and says when it has no sign-in client', async (t) => {
  const gateway = await startOddGateway((_req, res) => { res.setHeader('content-type', 'application/json').end(JSON.stringify({ issuer: ISSUER, clientId: null })) })
  t.teardown(gateway.close)
  await t.rejects(authConfig(new GatewayClient(gateway.url, 5000)), { name: 'UsageError', message: /no sign-in client \(LOCKBOX_OIDC_CLIENT_ID unset\)/ })
})

t.test('opens the browser with $BROWSER when set, else the platform opener', async (t) => {
  // `true` accepts the URL and exits: nothing is opened on the machine running the tests.
  t.doesNotThrow(() => { browserOpener({ BROWSER: 'true' })('http://127.0.0.1/x') })
  t.doesNotThrow(() => { browserOpener({ PATH: '/nonexistent' })('http://127.0.0.1/x') }, 'a missing opener only means the user opens the URL by hand')
})
