// The built-in dev issuer (API.md §1 "Dev identity"): signs identity tokens for the users of
// config/dev-users.json when no OIDC provider is configured. Never used alongside a real issuer.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose'
import type { DevUser } from '../../config/schema.js'
import { createFileOnce } from '../files/create-once.js'

export const DEV_ISSUER_KEY_FILE = 'dev-issuer-key.json'
const DEFAULT_TTL_SECONDS = 8 * 3600

export interface DevIssuerOptions {
  dataDir: string
  users: DevUser[]
  issuer: string
  audience: string
  ttlSeconds?: number
}

/** What a dev sign-in picker shows of a dev user: never a secret, never the e-mail. */
export interface DevUserSummary {
  id: string
  name: string
  tid: string
  roles: string[]
}

export interface DevIssuer {
  issuer: string
  audience: string
  /** The listed users, in file order. */
  users: () => DevUserSummary[]
  keys: JWTVerifyGetKey
  /** The public half, for a JWKS endpoint. */
  jwks: { keys: JWK[] }
  /** The private key, shared with the dev OpenID provider so that its tokens verify alike. */
  signingKey: JWK
  /** A signed identity token for a listed user; null for anyone else. */
  issue (userId: string): Promise<string | null>
}

interface Ed25519PrivateJwk extends JWK {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  d: string
  kid: string
}

export async function openDevIssuer (options: DevIssuerOptions): Promise<DevIssuer> {
  const { dataDir, issuer, audience, ttlSeconds = DEFAULT_TTL_SECONDS } = options
  const users = new Map(options.users.map((u) => [u.id, u]))
  const privateJwk = await loadOrCreateKey(join(dataDir, DEV_ISSUER_KEY_FILE))
  const { kid } = privateJwk
  const privateKey = await importJWK(privateJwk, 'EdDSA')
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, kid, alg: 'EdDSA', use: 'sig' }
  const jwks = { keys: [publicJwk] }

  return {
    issuer,
    audience,
    keys: createLocalJWKSet(jwks),
    jwks: structuredClone(jwks),
    signingKey: { ...privateJwk, alg: 'EdDSA', use: 'sig' },
    users: () => [...users.values()].map(({ id, name, tid, roles }) => ({ id, name, tid, roles: [...roles] })),
    async issue (userId) {
      const user = users.get(userId)
      if (user === undefined) return null
      const now = Math.floor(Date.now() / 1000)
      return await new SignJWT({
        name: user.name,
        email: user.email,
        preferred_username: user.email,
        tid: user.tid,
        roles: [...user.roles]
      })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(user.id)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(privateKey)
    }
  }
}

/** The key survives restarts so dev tokens keep working; replicas on one data dir share it. */
async function loadOrCreateKey (file: string): Promise<Ed25519PrivateJwk> {
  try {
    return await readKeyFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  const jwk = { ...await exportJWK(privateKey), kid: randomUUID() }
  await createFileOnce(file, JSON.stringify(jwk, null, 2) + '\n')
  return await readKeyFile(file)
}

async function readKeyFile (file: string): Promise<Ed25519PrivateJwk> {
  const text = await readFile(file, 'utf8')
  let jwk: unknown
  try {
    jwk = JSON.parse(text)
  } catch {
    jwk = null
  }
  if (!isEd25519PrivateJwk(jwk)) throw new Error(`dev issuer key file ${file} does not hold a private Ed25519 JWK with a kid`)
  return jwk
}

function isEd25519PrivateJwk (value: unknown): value is Ed25519PrivateJwk {
  if (typeof value !== 'object' || value === null) return false
  const jwk = value as Record<string, unknown>
  return jwk.kty === 'OKP' && jwk.crv === 'Ed25519' &&
    typeof jwk.x === 'string' && typeof jwk.d === 'string' &&
    typeof jwk.kid === 'string' && jwk.kid !== ''
}
