// Registers software passkeys and signs approvals over HTTP, for tests of signed approvals.
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
