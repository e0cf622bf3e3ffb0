// Signed checkpoints (API.md §6): a compact JWS over a tenant's chain head. Whoever holds one can later
// prove that an export still reaches that record, i.e. that nothing was cut from the end of the log.
import { CompactSign, compactVerify, type CryptoKey, type JWTVerifyGetKey } from 'jose'
import { canonicalJson, type ChainHead } from '../domain/audit.js'
import type { SigningKeys } from './signing-keys.js'

export const CHECKPOINT_TYPE = 'lockbox-checkpoint+jws'

export interface Checkpoint { tenantId: string, seq: number, hash: string, time: string }

export async function signCheckpoint (keys: SigningKeys, tenantId: string, head: ChainHead, now: number): Promise<string> {
  const payload: Checkpoint = { tenantId, seq: head.seq, hash: head.hash, time: new Date(now).toISOString() }
  return await new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: CHECKPOINT_TYPE })
    .sign(keys.privateKey)
}

/** The checkpoint's content if its signature verifies with one of `keys`; throws otherwise. */
export async function verifyCheckpoint (jws: string, keys: JWTVerifyGetKey | CryptoKey): Promise<Checkpoint> {
  const { payload, protectedHeader } = await compactVerify(jws, keys as JWTVerifyGetKey, { algorithms: ['EdDSA'] })
  if (protectedHeader.typ !== CHECKPOINT_TYPE) throw new Error('not a lockbox checkpoint')
  const data = JSON.parse(new TextDecoder().decode(payload)) as Partial<Checkpoint>
  if (typeof data.tenantId !== 'string' || typeof data.seq !== 'number' || typeof data.hash !== 'string' || typeof data.time !== 'string') {
    throw new Error('checkpoint payload is malformed')
  }
  return data as Checkpoint
}
