// The dev issuer: tokens that the caller verifier accepts, and a key that survives a restart.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import type { DevUser } from '../../config/schema.js'
import { createCallerVerifier } from '../../src/identity/caller-verifier.js'
import { DEV_ISSUER_KEY_FILE, openDevIssuer, type DevIssuer } from '../../src/identity/dev-issuer.js'

const ISSUER = 'http://127.0.0.1:3000/dev'
const AUDIENCE = 'lockbox-gateway'
const users: DevUser[] = [
  { id: 'eng-ada', name: 'Ada Engineer', email: 'ada@provider.example', tid: 'provider', roles: ['SupportEngineer'] },
  { id: 'contoso-admin', name: 'Megan Bowen', email: 'megan@contoso.com', tid: 'contoso', roles: ['GlobalAdministrator'] }
]

async function dataDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lockbox-dev-issuer-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function open (dir: string, ttlSeconds?: number): Promise<DevIssuer> {
  return openDevIssuer({ dataDir: dir, users, issuer: ISSUER, audience: AUDIENCE, ttlSeconds })
}

function verifierFor (dev: DevIssuer) {
  return createCallerVerifier({ issuer: dev.issuer, audience: dev.audience, keys: dev.keys, providerTenantId: 'provider' })
}

async function issued (dev: DevIssuer, userId: string): Promise<string> {
  const token = await dev.issue(userId)
  if (token === null) throw new Error(`no token for ${userId}`)
  return token
}

t.test('issues a token that the caller verifier accepts', async (t) => {
  const dev = await open(await dataDir(t))
  const engineer = await verifierFor(dev).verify(`Bearer ${await issued(dev, 'eng-ada')}`)
  t.match(engineer, { id: 'eng-ada', name: 'Ada Engineer', email: 'ada@provider.example', tenantId: 'provider', provider: true })
  t.same([...engineer.roles], ['SupportEngineer'])

  const admin = await verifierFor(dev).verify(`Bearer ${await issued(dev, 'contoso-admin')}`)
  t.match(admin, { id: 'contoso-admin', tenantId: 'contoso', provider: false })
  t.same([...admin.roles], ['GlobalAdministrator'])
})

t.test('signs with EdDSA under a kid, with the claims of API.md §1 and an 8 h lifetime', async (t) => {
  const dev = await open(await dataDir(t))
  const token = await issued(dev, 'eng-ada')
  const header = decodeProtectedHeader(token)
  t.same(header, { alg: 'EdDSA', kid: dev.jwks.keys[0]?.kid, typ: 'JWT' })
  const claims = decodeJwt(token)
  t.match(claims, {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'eng-ada',
    name: 'Ada Engineer',
    email: 'ada@provider.example',
    preferred_username: 'ada@provider.example',
    tid: 'provider',
    roles: ['SupportEngineer']
  })
  t.equal(Number(claims.exp) - Number(claims.iat), 8 * 3600)
})

t.test('honours a shorter lifetime', async (t) => {
  const dev = await open(await dataDir(t), 600)
  const claims = decodeJwt(await issued(dev, 'eng-ada'))
  t.equal(Number(claims.exp) - Number(claims.iat), 600)
})

t.test('returns null for a user who is not listed', async (t) => {
  const dev = await open(await dataDir(t))
  t.equal(await dev.issue('mallory'), null)
  t.equal(await dev.issue('__proto__'), null)
})

t.test('lists its users in file order without their e-mail, as copies', async (t) => {
  const dev = await open(await dataDir(t))
  const listed = dev.users()
  t.same(listed, [
    { id: 'eng-ada', name: 'Ada Engineer', tid: 'provider', roles: ['SupportEngineer'] },
    { id: 'contoso-admin', name: 'Megan Bowen', tid: 'contoso', roles: ['GlobalAdministrator'] }
  ])
  listed[0]?.roles.push('SecurityReader')
  t.same(dev.users()[0]?.roles, ['SupportEngineer'], 'changing the list changes nothing inside')
})

t.test('publishes only the public half of its key', async (t) => {
  const dev = await open(await dataDir(t))
  t.equal(dev.jwks.keys.length, 1)
  const [jwk] = dev.jwks.keys
  t.match(jwk, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: String })
  t.notOk(jwk !== undefined && 'd' in jwk, 'no private part')
})

t.test('keeps its key in a 0600 file, creating the data dir, and reuses it after a restart', async (t) => {
  const dir = join(await dataDir(t), 'nested', 'data')
  const first = await open(dir)
  const file = join(dir, DEV_ISSUER_KEY_FILE)
  t.equal((await stat(file)).mode & 0o777, 0o600)
  const saved = JSON.parse(await readFile(file, 'utf8'))
  t.match(saved, { kty: 'OKP', crv: 'Ed25519', d: String, kid: first.jwks.keys[0]?.kid })
  t.same(await readdir(dir), [DEV_ISSUER_KEY_FILE], 'no scratch file left behind')

  const token = await issued(first, 'eng-ada')
  const second = await open(dir)
  t.same(second.jwks, first.jwks)
  const caller = await verifierFor(second).verify(`Bearer ${token}`)
  t.equal(caller.id, 'eng-ada', 'a token from before the restart still verifies')
})

t.test('agrees on one key when several instances start together on one data dir', async (t) => {
  const dir = await dataDir(t)
  const instances = await Promise.all(Array.from({ length: 4 }, () => open(dir)))
  const kids = new Set(instances.map((dev) => dev.jwks.keys[0]?.kid))
  t.equal(kids.size, 1)
  t.same(await readdir(dir), [DEV_ISSUER_KEY_FILE], 'no scratch file left behind')
  const token = await issued(instances[0] as DevIssuer, 'eng-ada')
  for (const dev of instances) t.equal((await verifierFor(dev).verify(`Bearer ${token}`)).id, 'eng-ada')
})

t.test('refuses to start on a key file that is not a private Ed25519 JWK', async (t) => {
  const dir = await dataDir(t)
  const file = join(dir, DEV_ISSUER_KEY_FILE)
  const dev = await open(dir)
  const [publicOnly] = dev.jwks.keys
  for (const content of ['not json', 'null', JSON.stringify(publicOnly), JSON.stringify({ ...publicOnly, d: 'x', kid: '' })]) {
    await writeFile(file, content)
    await t.rejects(open(dir), { message: /does not hold a private Ed25519 JWK/ }, content)
  }
})

t.test('surfaces an unreadable key file rather than replacing it', async (t) => {
  const dir = await dataDir(t)
  await mkdir(join(dir, DEV_ISSUER_KEY_FILE))
  await t.rejects(open(dir), { code: 'EISDIR' })
})
