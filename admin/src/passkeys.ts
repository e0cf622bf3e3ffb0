// Approver passkeys in the browser (issue 19): navigator.credentials.create to register one, and
// navigator.credentials.get to sign a grant. The gateway speaks the JSON forms of WebAuthn (base64url
// for every binary field); these helpers convert both ways, with no library.
import { api } from './api.js'

export interface ApproverKey {
  kid: string
  approver: { id: string, name: string }
  alg: string
  createdAt: string
  revokedAt: string | null
  revokedBy: string | null
}

function toBytes (text: string): ArrayBuffer {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)
  const raw = atob(b64)
  const bytes = new Uint8Array(raw.length)
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes.buffer
}

function toText (buffer: ArrayBuffer | null): string | undefined {
  if (buffer === null) return undefined
  let raw = ''
  for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte)
  return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Whether this browser can use passkeys at all. */
export function passkeysAvailable (): boolean {
  return typeof window.PublicKeyCredential === 'function' && navigator.credentials !== undefined
}

interface CreationOptionsJSON {
  challenge: string
  user: { id: string, name: string, displayName: string }
  excludeCredentials?: Array<{ id: string, type: 'public-key', transports?: string[] }>
  [key: string]: unknown
}

interface RequestOptionsJSON {
  challenge: string
  allowCredentials?: Array<{ id: string, type: 'public-key', transports?: string[] }>
  [key: string]: unknown
}

/** Registers a passkey of the signed-in approver for their tenant. */
export async function registerPasskey (tenantId: string): Promise<ApproverKey> {
  const path = `/v1/tenants/${encodeURIComponent(tenantId)}/passkeys`
  const options = await api<CreationOptionsJSON>('POST', `${path}/registration-options`)
  const credential = await navigator.credentials.create({
    publicKey: {
      ...(options as unknown as PublicKeyCredentialCreationOptions),
      challenge: toBytes(options.challenge),
      user: { ...options.user, id: toBytes(options.user.id) },
      excludeCredentials: (options.excludeCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id), transports: c.transports as AuthenticatorTransport[] | undefined }))
    }
  }) as PublicKeyCredential | null
  if (credential === null) throw new Error('No passkey was created.')
  const response = credential.response as AuthenticatorAttestationResponse
  return await api<ApproverKey>('POST', path, {
    body: {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: 'public-key',
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        attestationObject: toText(response.attestationObject),
        transports: typeof response.getTransports === 'function' ? response.getTransports() : []
      },
      clientExtensionResults: {}
    }
  })
}

/** Signs a request's grant (narrowed as given) with one of the approver's passkeys: the `webauthn` of a decision. */
export async function signGrant (requestId: string, narrowing: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const { options } = await api<{ options: RequestOptionsJSON }>('POST', `/v1/requests/${encodeURIComponent(requestId)}/approval-options`, { body: narrowing })
  const credential = await navigator.credentials.get({
    publicKey: {
      ...(options as unknown as PublicKeyCredentialRequestOptions),
      challenge: toBytes(options.challenge),
      allowCredentials: (options.allowCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id), transports: c.transports as AuthenticatorTransport[] | undefined }))
    }
  }) as PublicKeyCredential | null
  if (credential === null) throw new Error('The passkey did not sign.')
  const response = credential.response as AuthenticatorAssertionResponse
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: 'public-key',
    response: {
      clientDataJSON: toText(response.clientDataJSON),
      authenticatorData: toText(response.authenticatorData),
      signature: toText(response.signature),
      ...(response.userHandle === null ? {} : { userHandle: toText(response.userHandle) })
    },
    clientExtensionResults: {}
  }
}
