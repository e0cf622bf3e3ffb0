// The provider's key set over real HTTP: cached, and refetched for an unknown kid at most once per cooldown.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose'
import { remoteKeys } from '../../src/identity/remote-keys.js'

interface Key { kid: string, privateKey: CryptoKey, jwk: JWK }

async function key (kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { kid, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg: 'ES256', use: 'sig' } }
}

async function token (k: Key): Promise<string> {
  return await new SignJWT({ sub: 'user-1' })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .setExpirationTime('5m')
    .sign(k.privateKey)
}

const [first, rotated, never] = await Promise.all([key('first'), key('rotated'), key('never')])

let served: JWK[] = [first.jwk]
let hits = 0
const server = createServer((req, res) => {
  hits++
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
const { port } = server.address() as AddressInfo

// jose judges cache age by Date.now(); moving it is how the test lets 30 s or 10 min pass at once.
// JWT expiry is judged by new Date(), which this leaves alone.
const realNow = Date.now
let skew = 0
Date.now = () => realNow() + skew
t.teardown(() => { Date.now = realNow })

t.test('refetches for an unknown kid at most once per 30 s cooldown', async (t) => {
  const keys = remoteKeys(`http://127.0.0.1:${port}/.well-known/jwks.json`)

  await jwtVerify(await token(first), keys)
  t.equal(hits, 1, 'the first token loads the set')

  served = [first.jwk, rotated.jwk]
  const rotatedToken = await token(rotated)
  for (let i = 0; i < 5; i++) {
    await t.rejects(jwtVerify(rotatedToken, keys), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  }
  await Promise.all(Array.from({ length: 5 }, () => t.rejects(jwtVerify(rotatedToken, keys), { code: 'ERR_JWKS_NO_MATCHING_KEY' })))
  t.equal(hits, 1, 'ten unknown-kid tokens within the cooldown fetch nothing')

  skew = 31_000
  const verified = await Promise.all(Array.from({ length: 5 }, async () => await jwtVerify(rotatedToken, keys)))
  t.equal(verified.length, 5, 'the rotated key is picked up once the cooldown has passed')
  t.equal(hits, 2, 'concurrent unknown-kid tokens share a single refetch')

  const neverToken = await token(never)
  for (let i = 0; i < 5; i++) {
    await t.rejects(jwtVerify(neverToken, keys), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  }
  t.equal(hits, 2, 'a kid the provider never published costs no fetch inside the new cooldown')

  skew = 62_000
  await t.rejects(jwtVerify(neverToken, keys), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  await t.rejects(jwtVerify(neverToken, keys), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  t.equal(hits, 3, 'the next cooldown allows exactly one more refetch')
})

t.test('refetches a known key set once it is ten minutes old', async (t) => {
  skew = 0
  served = [first.jwk]
  const keys = remoteKeys(`http://127.0.0.1:${port}/.well-known/jwks.json`)
  const before = hits
  const firstToken = await token(first)
  await jwtVerify(firstToken, keys)
  await jwtVerify(firstToken, keys)
  t.equal(hits - before, 1, 'a known kid is served from the cache')

  skew = 10 * 60_000 + 1_000
  await jwtVerify(firstToken, keys)
  t.equal(hits - before, 2, 'a stale set is reloaded')
})
