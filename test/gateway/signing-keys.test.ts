import t from 'tap'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT, jwtVerify } from 'jose'
import type { CryptoKey } from 'jose'
import { openSigningKeys } from '../../src/gateway/signing-keys.js'
import { tempDir } from '../helpers/config.js'

async function privateJwk (kid?: string): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  return { ...await exportJWK(privateKey), ...(kid === undefined ? {} : { kid }) }
}

t.test('creates a key file with mode 0600 on first open and reads it afterwards', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const file = join(dir.path, 'keys', 'signing-key.json')
  const created = await openSigningKeys(file)
  t.equal((await stat(file)).mode & 0o777, 0o600)
  t.equal(created.jwks.keys.length, 1)
  t.equal(created.jwks.keys[0]?.kid, created.kid)
  const reopened = await openSigningKeys(file)
  t.equal(reopened.kid, created.kid)
  t.same(reopened.jwks, created.jwks)
  const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).sign(created.privateKey)
  await t.resolves(jwtVerify(jwt, reopened.publicKey(created.kid) as CryptoKey), 'a key from before verifies after')
  t.equal(reopened.publicKey('someone-else'), undefined)
})

t.test('agrees on one key when several processes create the file at once', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const file = join(dir.path, 'signing-key.json')
  const opened = await Promise.all([openSigningKeys(file), openSigningKeys(file), openSigningKeys(file)])
  t.same(new Set(opened.map((k) => k.kid)).size, 1)
})

t.test('signs with the first key and verifies with all of them', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const file = join(dir.path, 'keys.json')
  await writeFile(file, JSON.stringify({ keys: [await privateJwk('new'), await privateJwk('old')] }))
  const keys = await openSigningKeys(file)
  t.equal(keys.kid, 'new')
  t.same(keys.jwks.keys.map((k) => [k.kid, k.alg, k.use, 'd' in k]), [['new', 'EdDSA', 'sig', false], ['old', 'EdDSA', 'sig', false]])
  t.ok(keys.publicKey('old'))
})

t.test('refuses a key file that is not a JWK Set of private Ed25519 keys', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const ed = await privateJwk('k1')
  const { privateKey: rsa } = await generateKeyPair('RS256', { extractable: true })
  const { privateKey: p256 } = await generateKeyPair('ES256', { extractable: true })
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{ "keys": [', /is not a JSON JWK Set/],
    ['null', 'null', /must be a JWK Set/],
    ['no keys', '{}', /must be a JWK Set/],
    ['an empty set', '{ "keys": [] }', /with at least one key/],
    ['keys not an array', '{ "keys": {} }', /must be a JWK Set/],
    ['a bare key', JSON.stringify(ed), /must be a JWK Set/],
    ['an RSA key', JSON.stringify({ keys: [{ ...await exportJWK(rsa), kid: 'rsa' }] }), /key 0 is not a private Ed25519 JWK with a kid/],
    ['a P-256 key', JSON.stringify({ keys: [ed, { ...await exportJWK(p256), kid: 'ec' }] }), /key 1 is not a private Ed25519 JWK/],
    ['a public key', JSON.stringify({ keys: [{ ...ed, d: undefined }] }), /key 0 is not a private Ed25519 JWK/],
    ['a key without kid', JSON.stringify({ keys: [await privateJwk()] }), /key 0 .* with a kid/],
    ['an empty kid', JSON.stringify({ keys: [{ ...ed, kid: '' }] }), /key 0 .* with a kid/],
    ['a key that is not an object', JSON.stringify({ keys: ['k1'] }), /key 0 is not/],
    ['a null key', JSON.stringify({ keys: [null] }), /key 0 is not/],
    ['a duplicate kid', JSON.stringify({ keys: [ed, await privateJwk('k1')] }), /kid "k1" appears twice/]
  ]
  for (const [what, content, message] of cases) {
    const file = join(dir.path, `${what.replaceAll(' ', '-')}.json`)
    await writeFile(file, content)
    await t.rejects(openSigningKeys(file), { message }, what)
  }
  await t.rejects(openSigningKeys(dir.path), { message: /is not a JSON JWK Set/ }, 'a directory')
})
