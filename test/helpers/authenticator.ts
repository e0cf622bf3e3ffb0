// A software WebAuthn authenticator for tests without a browser: a P-256 (or Ed25519) key pair that
// answers registration and authentication options as a roaming authenticator would, with the
// "none" attestation. The admin tests use Chromium's virtual authenticator instead.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isoCBOR } from '@simplewebauthn/server/helpers'

export interface SoftAuthenticatorOptions {
  origin: string
  rpId: string
  alg?: 'ES256' | 'EdDSA' | 'RS256'
  /** Flags to leave out (e.g. 0x04: not user verified). */
  withoutFlags?: number
}

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest()

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16)
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  private counter = 0

  constructor (readonly options: SoftAuthenticatorOptions) {
    const pair = options.alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : options.alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = pair.privateKey
    this.publicKey = pair.publicKey
  }

  get id (): string { return b64u(this.credentialId) }

  /** The public key as a JWK (what the gateway publishes for it). */
  publicJwk (): Record<string, string> {
    return this.publicKey.export({ format: 'jwk' }) as Record<string, string>
  }

  private cose (): Uint8Array {
    const jwk = this.publicKey.export({ format: 'jwk' })
    const bytes = (text: string | undefined): Uint8Array => new Uint8Array(Buffer.from(text as string, 'base64url'))
    const entries: Array<[number, number | Uint8Array]> = this.options.alg === 'EdDSA'
      ? [[1, 1], [3, -8], [-1, 6], [-2, bytes(jwk.x)]]
      : this.options.alg === 'RS256'
        ? [[1, 3], [3, -257], [-1, bytes(jwk.n)], [-2, bytes(jwk.e)]]
        : [[1, 2], [3, -7], [-1, 1], [-2, bytes(jwk.x)], [-3, bytes(jwk.y)]]
    const map = new Map(entries)
    return isoCBOR.encode(map)
  }

  private flags (base: number): number {
    return base & ~(this.options.withoutFlags ?? 0)
  }

  private clientData (type: string, challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.options.origin, crossOrigin: false }))
  }

  /** The answer to registration options (as the browser JSON-encodes navigator.credentials.create's result). */
  register (options: { challenge: string }): Record<string, unknown> {
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    const authData = Buffer.concat([
      sha256(this.options.rpId), Buffer.from([this.flags(0x45)]), Buffer.alloc(4), Buffer.alloc(16), idLength, this.credentialId, this.cose()
    ])
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(authData)]]) as never)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64u(this.clientData('webauthn.create', options.challenge)), attestationObject: b64u(attestationObject), transports: ['usb'] },
      clientExtensionResults: {}
    }
  }

  /** The answer to authentication options: a signature over authenticatorData ‖ SHA-256(clientDataJSON). */
  assert (challenge: string, overrides: { type?: string, origin?: string } = {}): Record<string, unknown> {
    this.counter++
    const count = Buffer.alloc(4)
    count.writeUInt32BE(this.counter)
    const authData = Buffer.concat([sha256(this.options.rpId), Buffer.from([this.flags(0x05)]), count])
    const clientData = Buffer.from(JSON.stringify({ type: overrides.type ?? 'webauthn.get', challenge, origin: overrides.origin ?? this.options.origin, crossOrigin: false }))
    const signed = Buffer.concat([authData, sha256(clientData)])
    const signature = sign(this.options.alg === 'EdDSA' ? null : 'sha256', signed, this.privateKey)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64u(clientData), authenticatorData: b64u(authData), signature: b64u(signature) },
      clientExtensionResults: {}
    }
  }
}
