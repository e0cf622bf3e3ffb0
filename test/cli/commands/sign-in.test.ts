// `lockbox login` without a token: the device flow and the browser (loopback) flow against the
// gateway's dev OpenID provider, the refresh token kept in the profile and used once the identity
// token is about to expire, and the refusals (another state, a sign-in that cannot be renewed).
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { run } from '../../../src/cli/program.js'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { tempDir } from '../../helpers/config.js'
import { Agent, claimsOf } from '../../helpers/oidc-agent.js'
import { childEnv, readProfile, startOddGateway, waitForOutput, writeProfile } from '../run.js'

interface Gateway { h: TestApp, url: string, configDir: string }

async function gateway (t: Test, idTokenTtlMs = 3600_000): Promise<Gateway> {
  const h = await startTestApp({ config: { devIdTokenTtlMs: idTokenTtlMs } })
  const dir = tempDir('lockbox-cli-')
  t.teardown(async () => { await h.close(); dir.remove() })
  const url = await h.app.listen({ host: '127.0.0.1', port: 0 })
  return { h, url, configDir: dir.path }
}

/** Starts `lockbox` in this process with a stderr the test reads while the command still runs. */
function start (g: Gateway, args: string[]): { stderr: PassThrough, stdout: PassThrough, done: Promise<number>, text: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let text = ''
  stdout.setEncoding('utf8').on('data', (c: string) => { text += c })
  const stdin = Object.assign(new PassThrough(), { isTTY: true })
  const done = run(['node', 'lockbox', ...args], { stdout, stderr, stdin, env: childEnv({ LOCKBOX_URL: g.url, LOCKBOX_CONFIG_DIR: g.configDir, BROWSER: 'true' }) })
  return { stderr, stdout, done, text: () => text }
}

async function lockbox (g: Gateway, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const cli = start(g, args)
  let err = ''
  cli.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
  const code = await cli.done
  return { code, stdout: cli.text(), stderr: err }
}

t.test('signs in with the device flow on a terminal, keeps the refresh token, and renews the identity token before it lapses', async (t) => {
  const g = await gateway(t, 2000)
  const cli = start(g, ['-p', 'approver', 'login'])
  const said = await waitForOutput(cli.stderr, /\(or open (\S+)\)/)
  const [, uri, userCode] = /open (\S+) and enter the code (\S+)/.exec(said) as string[]
  t.equal(uri, `${g.url}/dev/oidc/device`)
  const complete = (/\(or open (\S+)\)/.exec(said) as string[])[1] as string

  // The person at the browser: confirm the code, then choose who they are on the provider's page.
  const agent = new Agent()
  const within = `${g.url}/dev/oidc/`
  // The link carries the code: its page posts it on by itself (a script the page's CSP allows by hash).
  const input = await agent.follow(complete, within)
  const inputPage = await input.res.text()
  t.match(inputPage, `name="user_code" value="${userCode as string}"`)
  const csp = input.res.headers.get('content-security-policy') as string
  t.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/)
  const confirm = await agent.submit(input.url, inputPage, within, {})
  const confirmPage = await confirm.res.text()
  t.match(confirmPage, `It shows the code <code>${userCode as string}</code>`)
  const login = await agent.submit(confirm.url, confirmPage, within, {})
  const loginPage = await login.res.text()
  t.match(loginPage, 'Sign in to the Lockbox dev provider')
  const done = await agent.submit(login.url, loginPage, within, { user: 'contoso-approver' })
  t.match(await done.res.text(), 'Device connected')

  t.equal(await cli.done, 0)
  t.match(cli.text(), 'Logged in as Lee Gu (contoso-approver)')
  const profileFile = join(g.configDir, 'approver.json')
  t.equal(statSync(profileFile).mode & 0o777, 0o600, 'the profile holding the refresh token is 0600')
  const profile = readProfile(g.configDir, 'approver')
  t.match(profile.signIn, { issuer: 'http://127.0.0.1:8080/dev/oidc', clientId: 'lockbox-gateway', tokenEndpoint: `${g.url}/dev/oidc/token`, refreshToken: String })
  t.match(claimsOf(profile.identityToken), { sub: 'contoso-approver', tid: 'contoso' })

  // The identity token lives two seconds: the next command renews it first, transparently.
  const whoami = await lockbox(g, ['-p', 'approver', 'whoami'])
  t.equal(whoami.code, 0, whoami.stderr)
  t.match(whoami.stdout, 'Lee Gu (contoso-approver)')
  const renewed = readProfile(g.configDir, 'approver')
  t.not(renewed.signIn.refreshToken, profile.signIn.refreshToken, 'the rotated refresh token is kept')
  t.ok((claimsOf(renewed.identityToken).iat as number) >= (claimsOf(profile.identityToken).iat as number))

  // A refresh token the provider no longer honours: the command says to sign in again.
  writeProfile(g.configDir, 'stale', { ...renewed, signIn: { ...renewed.signIn, refreshToken: 'revoked' } })
  const stale = await lockbox(g, ['-p', 'stale', 'whoami'])
  t.equal(stale.code, 1)
  t.match(stale.stderr, /error: your sign-in has ended and could not be renewed \(invalid_grant.*\)\nhint: run `lockbox login` again/)
  // A token that does not say when it expires is renewed too: it cannot be trusted to last.
  writeProfile(g.configDir, 'no-exp', { ...renewed, identityToken: 'h.e30.s', signIn: { ...renewed.signIn, refreshToken: 'revoked' } })
  t.match((await lockbox(g, ['-p', 'no-exp', 'whoami'])).stderr, 'could not be renewed')
})

t.test('signs in with the browser and a loopback redirect; an answer with another state is refused', async (t) => {
  const g = await gateway(t)
  const cli = start(g, ['-p', 'engineer', '--json', 'login', '--browser'])
  const said = await waitForOutput(cli.stderr, /visit:\n(\S+)\n/)
  const authorize = new URL((/visit:\n(\S+)\n/.exec(said) as string[])[1] as string)
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
  t.match(authorize.searchParams.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
  const agent = new Agent()
  const within = `${g.url}/dev/oidc/`
  const page = await agent.follow(authorize.href, within)
  const back = await agent.submit(page.url, await page.res.text(), within, { user: 'eng-ada' })
  t.match(back.url, /^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/)
  const callback = await fetch(back.url)
  t.match(await callback.text(), 'Signed in')
  t.equal(await cli.done, 0)
  t.match(JSON.parse(cli.text()), { profile: 'engineer', user: { id: 'eng-ada' }, renewable: true })
  // The identity token lives an hour: a command meanwhile uses it as it is, and renews nothing.
  const signedIn = readProfile(g.configDir, 'engineer')
  const whoami = await lockbox(g, ['-p', 'engineer', 'whoami'])
  t.equal(whoami.code, 0, whoami.stderr)
  t.match(whoami.stdout, 'eng-ada')
  t.same(readProfile(g.configDir, 'engineer'), signedIn, 'the profile is left as it was: same token, same refresh token')

  // Someone else's answer (a forged callback) reaches the CLI first: it stops, and keeps nothing.
  const second = start(g, ['-p', 'forged', 'login', '--browser'])
  const said2 = await waitForOutput(second.stderr, /visit:\n(\S+)\n/)
  const redirect = new URL((/visit:\n(\S+)\n/.exec(said2) as string[])[1] as string).searchParams.get('redirect_uri') as string
  const forged = await fetch(`${redirect}?code=stolen&state=not-ours`)
  t.equal(forged.status, 400)
  await forged.arrayBuffer()
  t.equal(await second.done, 1)
  t.throws(() => readProfile(g.configDir, 'forged'), { code: 'ENOENT' })
})

t.test('--device against a gateway without a sign-in client says to pass a token', async (t) => {
  const odd = await startOddGateway((_req, res) => { res.setHeader('content-type', 'application/json').end('{"issuer":"https://idp.example","clientId":null}') })
  t.teardown(odd.close)
  const g = await gateway(t)
  const cli = await lockbox({ ...g, url: odd.url }, ['login', '--device'])
  t.equal(cli.code, 2)
  t.match(cli.stderr, /no sign-in client[\s\S]*lockbox login --token <jwt>/)
})

t.test('a piped token and --token still work for scripts', async (t) => {
  const g = await gateway(t)
  const token = await g.h.token('eng-bob')
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const stdin = new PassThrough()
  stdin.end(token)
  t.equal(await run(['node', 'lockbox', 'login'], { stdout, stderr, stdin, env: childEnv({ LOCKBOX_URL: g.url, LOCKBOX_CONFIG_DIR: g.configDir }) }), 0)
  t.equal(readProfile(g.configDir, 'default').signIn, undefined, 'nothing to renew with')
})
