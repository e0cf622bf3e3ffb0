// `lockbox login`, `whoami`, `logout`: the identity token a profile holds.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { tokenExpiry, tokenFromStdin } from '../../../src/cli/commands/auth.js'
import { tempDir } from '../../helpers/config.js'
import { readProfile, runInProcess, startCliHarness, startOddGateway, writeProfile } from '../run.js'

t.test('reads a token piped on stdin, and refuses to wait on a terminal', async (t) => {
  const piped = new PassThrough()
  piped.end('  eyJ.token.sig \n')
  t.equal(await tokenFromStdin(piped), 'eyJ.token.sig')
  const terminal = Object.assign(new PassThrough(), { isTTY: true })
  await t.rejects(tokenFromStdin(terminal), { name: 'UsageError', exitCode: 2, message: 'no token given' })
})

t.test('reads the expiry of a JWT without verifying it, and nothing from what is not one', async (t) => {
  const payload = (claims: unknown): string => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`
  t.equal(tokenExpiry(payload({ exp: 1_800_000_000 })), '2027-01-15T08:00:00.000Z')
  t.equal(tokenExpiry(payload({ sub: 'x' })), null)
  t.equal(tokenExpiry('not a jwt'), null)
})

t.test('logs in, shows who you are, and logs out', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  const adminToken = await cli.h.token('contoso-admin')

  const [flag, piped, emptyStdin, unknownUser, forged] = await Promise.all([
    cli.lockbox(['-p', 'admin', 'login', '--token', adminToken]),
    cli.lockbox(['-p', 'piped', '--json', 'login'], { input: `${adminToken}\n` }),
    cli.lockbox(['-p', 'empty', 'login'], { input: '' }),
    cli.lockbox(['login', '--dev', 'nobody']),
    cli.lockbox(['login', '--token', 'not.a.jwt'])
  ])
  t.equal(flag.code, 0, flag.stderr)
  t.match(flag.stdout, 'Logged in as Megan Bowen (contoso-admin)')
  t.match(flag.stdout, /tenant +contoso\nroles +GlobalAdministrator/)
  t.match(JSON.parse(piped.stdout), { profile: 'piped', user: { id: 'contoso-admin' } })
  t.equal(emptyStdin.code, 2)
  t.match(emptyStdin.stderr, 'error: stdin held no token')
  t.equal(unknownUser.code, 1)
  t.match(unknownUser.stderr, /^error: no dev user "nobody" .*\(NOT_FOUND\)\nhint: dev users are listed in config\/dev-users.json/)
  t.equal(forged.code, 1)
  t.match(forged.stderr, /\(UNAUTHENTICATED\)\nhint: your identity token is missing or has expired: run `lockbox login`/)

  const [whoami, whoamiJson, customer] = await Promise.all([
    cli.lockbox(['-p', 'admin', 'whoami']),
    cli.lockbox(['-p', 'admin', '--json', 'whoami']),
    cli.lockbox(['-p', 'customer', 'login', '--dev', 'contoso-user'])
  ])
  t.match(whoami.stdout, /^user +Megan Bowen \(contoso-admin\)\nemail +megan@contoso.com\ntenant +contoso\nroles +GlobalAdministrator\nprofile +admin \(http:\/\/127.0.0.1:\d+\)\nidentity +token expires in \S/)
  t.same(JSON.parse(whoamiJson.stdout), { id: 'contoso-admin', name: 'Megan Bowen', email: 'megan@contoso.com', tenantId: 'contoso', provider: false, roles: ['GlobalAdministrator'] })
  t.match(customer.stdout, 'roles   (none: a customer user)')

  const [out, again, outJson] = await Promise.all([
    cli.lockbox(['-p', 'admin', 'logout']),
    cli.lockbox(['-p', 'never', 'logout']),
    cli.lockbox(['-p', 'piped', '--json', 'logout'])
  ])
  t.equal(out.stdout, 'Logged out: profile "admin" removed.\n')
  t.equal(again.stdout, 'Profile "never" held nothing.\n')
  t.same(JSON.parse(outJson.stdout), { profile: 'piped', removed: true })
  const [after, unset] = await Promise.all([
    cli.lockbox(['-p', 'admin', '--timeout', '5', 'whoami']),
    cli.lockbox(['whoami'], { env: { LOCKBOX_URL: '', LOCKBOX_PROFILE: '', LOCKBOX_CONFIG_DIR: cli.configDir } })
  ])
  t.equal(after.code, 1)
  t.match(after.stderr, 'error: not logged in (profile "admin")\nhint: run `lockbox --profile admin login` to sign in')
  t.equal(unset.code, 1, 'empty variables count as unset')
  t.match(unset.stderr, 'error: not logged in (profile "default")\nhint: run `lockbox login` to sign in')
})

t.test('keeps access tokens for the same user and drops them for another', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  const stored = { r1: { requestId: 'r1', tenantId: 'contoso', workload: 'exchange', scope: '/', accessLevel: 'read', accessToken: 'x', expiresAt: '2999-01-01T00:00:00.000Z', storedAt: '2026-01-01T00:00:00.000Z' } }
  writeProfile(cli.configDir, 'same', { user: { id: 'eng-ada' }, accessTokens: stored })
  writeProfile(cli.configDir, 'other', { user: { id: 'eng-ada' }, accessTokens: stored })
  await Promise.all([
    cli.lockbox(['-p', 'same', 'login', '--dev', 'eng-ada']),
    cli.lockbox(['-p', 'other', 'login', '--dev', 'eng-bob'])
  ])
  t.same(Object.keys(readProfile(cli.configDir, 'same').accessTokens), ['r1'])
  t.same(readProfile(cli.configDir, 'other').accessTokens, {})
})

t.test('says a token has no expiry when it has none', async (t) => {
  const odd = await startOddGateway((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ id: 'u1', name: 'Una', email: null, tenantId: 'contoso', provider: false, roles: [] }))
  })
  t.teardown(odd.close)
  const config = tempDir('lockbox-cli-')
  t.teardown(config.remove)
  writeProfile(config.path, 'default', { identityToken: 'opaque-token' })
  const res = await runInProcess(['whoami'], { env: { LOCKBOX_URL: odd.url, LOCKBOX_CONFIG_DIR: config.path } })
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /email +-\n/)
  t.match(res.stdout, /identity +token without expiry/)
})

t.test('refuses a profile file it cannot read, saying which', async (t) => {
  const config = tempDir('lockbox-cli-')
  t.teardown(config.remove)
  writeFileSync(join(config.path, 'broken.json'), '{ not json', { mode: 0o600 })
  mkdirSync(join(config.path, 'folder.json'))
  const env = { LOCKBOX_CONFIG_DIR: config.path }
  const [broken, folder] = await Promise.all([
    runInProcess(['-p', 'broken', 'whoami'], { env }),
    runInProcess(['-p', 'folder', 'whoami'], { env })
  ])
  t.equal(broken.code, 1)
  t.match(broken.stderr, `error: profile file ${join(config.path, 'broken.json')} is not valid JSON\nhint: fix it, or delete it and log in again: lockbox --profile broken login`)
  t.equal(folder.code, 1)
  t.match(folder.stderr, /^error: EISDIR/)
})
