// The gateway's Ed25519 keys (API.md §4): a JWK Set of private keys in LOCKBOX_SIGNING_KEY_FILE.
// The first key signs; every key verifies, so a key can be rotated in ahead of its use and an old
// one kept until the tokens it signed have expired. Replicas sharing the file accept each other's tokens.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { createFileOnce } from '../files/create-once.js'

export interface SigningKeys {
  /** The kid of the signing key. */
  kid: string
  privateKey: CryptoKey
  /** Public halves of every key, for /.well-known/jwks.json. */
  jwks: { keys: JWK[] }
  /** The public key for a kid, or undefined if the kid is not ours. */
  publicKey: (kid: string) => CryptoKey | undefined
}

interface PrivateEd25519 { kty: 'OKP', crv: 'Ed25519', x: string, d: string, kid: string }

function isPrivateEd25519 (jwk: unknown): jwk is PrivateEd25519 {
  if (typeof jwk !== 'object' || jwk === null) return false
  const k = jwk as Record<string, unknown>
  return k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string' && typeof k.d === 'string' &&
    typeof k.kid === 'string' && k.kid !== ''
}

async function readKeySet (file: string): Promise<PrivateEd25519[]> {
  let data: unknown
  try {
    data = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err
    throw new Error(`signing key file ${file} is not a JSON JWK Set`)
  }
  const keys = (data as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`signing key file ${file} must be a JWK Set { "keys": [ … ] } with at least one key`)
  const kids = new Set<string>()
  for (const [i, key] of keys.entries()) {
    if (!isPrivateEd25519(key)) throw new Error(`signing key file ${file}: key ${i} is not a private Ed25519 JWK with a kid`)
    if (kids.has(key.kid)) throw new Error(`signing key file ${file}: kid "${key.kid}" appears twice`)
    kids.add(key.kid)
  }
  return keys as PrivateEd25519[]
}

/** Creates a fresh key set on first start (mode 0600); reads the existing one afterwards. */
export async function openSigningKeys (file: string): Promise<SigningKeys> {
  let keys: PrivateEd25519[]
  try {
    keys = await readKeySet(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
    const jwk = { ...await exportJWK(privateKey), kid: randomUUID(), alg: 'EdDSA', use: 'sig' }
    await createFileOnce(file, JSON.stringify({ keys: [jwk] }, null, 2) + '\n')
    keys = await readKeySet(file)
  }
  const publicKeys = new Map<string, CryptoKey>()
  const publicJwks: JWK[] = []
  for (const key of keys) {
    const pub: JWK = { kty: 'OKP', crv: 'Ed25519', x: key.x, kid: key.kid, alg: 'EdDSA', use: 'sig' }
    publicKeys.set(key.kid, await importJWK(pub, 'EdDSA') as CryptoKey)
    publicJwks.push(pub)
  }
  const signing = keys[0] as PrivateEd25519
  return {
    kid: signing.kid,
    privateKey: await importJWK(signing, 'EdDSA') as CryptoKey,
    jwks: { keys: publicJwks },
    publicKey: (kid) => publicKeys.get(kid)
  }
}
