// Registers software passkeys and signs approvals over HTTP, for tests of signed approvals.
import { SignJWT } from 'jose'
import { GATEWAY_ISSUER } from '../../src/gateway/access-token.js'
import { ASSERTION_TYPE } from '../../src/gateway/assertion.js'
import type { TestApp } from './app.js'
import { SoftAuthenticator, type SoftAuthenticatorOptions } from './authenticator.js'

/** The relying party of the test config (LOCKBOX_PUBLIC_URL http://127.0.0.1:8080). */
export const RP = { origin: 'http://127.0.0.1:8080', rpId: '127.0.0.1' }

export async function registerPasskey (
  h: TestApp, user: string, tenantId = 'contoso', options: Partial<SoftAuthenticatorOptions> = {}
): Promise<SoftAuthenticator> {
  const authenticator = new SoftAuthenticator({ ...RP, ...options })
  const opts = await h.as(user, { method: 'POST', url: `/v1/tenants/${tenantId}/passkeys/registration-options` })
  if (opts.statusCode !== 200) throw new Error(`registration options: ${opts.statusCode} ${opts.body}`)
  const res = await h.as(user, { method: 'POST', url: `/v1/tenants/${tenantId}/passkeys`, payload: authenticator.register(opts.json()) })
  if (res.statusCode !== 201) throw new Error(`register passkey: ${res.statusCode} ${res.body}`)
  return authenticator
}

/** The approval challenge of a request, as its approver fetches it. */
export async function approvalChallenge (h: TestApp, id: string, user = 'contoso-approver'): Promise<{ challenge: string, grant: Record<string, string>, options: any }> {
  const res = await h.as(user, { method: 'POST', url: `/v1/requests/${id}/approval-options` })
  if (res.statusCode !== 200) throw new Error(`approval options: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Approves with a signature over the request's grant. */
export async function signedDecision (h: TestApp, id: string, authenticator: SoftAuthenticator, user = 'contoso-approver'): Promise<{ statusCode: number, json: () => any, body: string }> {
  const { challenge } = await approvalChallenge(h, id, user)
  return await h.as(user, { method: 'POST', url: `/v1/requests/${id}/decision`, payload: { decision: 'Approve', webauthn: authenticator.assert(challenge) } })
}

const ALICE = '/mailboxes/alice@contoso.com'

/** An upstream assertion as the gateway signs them, made by someone who holds the gateway's key (an insider). */
export async function assertionSignedWithGatewayKey (h: TestApp, req: { id: string, [key: string]: unknown }, approval?: unknown): Promise<string> {
  const iat = Math.floor(Date.now() / 1000)
  return await new SignJWT({ requestId: req.id, actor: 'eng-ada', tenantId: 'contoso', scope: req.scope as string, accessLevel: 'read', ...(approval === undefined ? {} : { approval }) })
    .setProtectedHeader({ alg: 'EdDSA', kid: h.app.gateway.keys.kid, typ: ASSERTION_TYPE })
    .setIssuer(GATEWAY_ISSUER).setAudience('exchange').setSubject('eng-ada').setIssuedAt(iat).setExpirationTime(iat + 300)
    .sign(h.app.gateway.keys.privateKey)
}

/** The status the built-in Exchange mock answers for alice's messages with `assertion`, asked directly, past the gateway. */
export async function upstreamStatus (h: TestApp, assertion: string): Promise<number> {
  const res = await fetch(`${h.app.gateway.upstreams.exchange}/tenants/contoso${ALICE}/messages`, { headers: { 'x-lockbox-assertion': assertion } })
  await res.arrayBuffer()
  return res.status
}
