// Approver passkeys (issue 19): register, list and revoke, each registration and removal on the
// tenant's audit chain in the same step as the change of the tenant's key list.
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { customerActingRole, isCustomerApprover, may, type Caller } from '../domain/policy.js'
import { iso, type LockboxRequest } from '../domain/lockbox.js'
import { grantedAccess } from '../domain/granted-access.js'
import {
  approvalCovers, canonicalGrant, grantChallenge, verifySignedApproval,
  type ApprovalProof, type ApproverKeySet, type ProofCheck, type Signable
} from '../domain/approval.js'
import { signedWindowEnd, verifyExtensions } from '../domain/signed-extension.js'
import type { ApproverKey, SettledTenant, Tenant, TenantSettings } from '../domain/tenant.js'
import { ApprovalSignatureInvalid, Forbidden, InvalidState, NotFound, PasskeyInvalid, SignedApprovalRequired } from '../errors.js'
import type { SigningKeys } from '../gateway/signing-keys.js'
import { approvalOptions, keySet, PasskeyError, registrationOptions, verifyApproval, verifyRegistration, type RelyingParty } from '../passkeys/webauthn.js'
import { draft, retryOnConflict, type Acting, type WorkflowContext } from './context.js'

export interface PasskeyContext { rp: RelyingParty, keys: SigningKeys }

interface Versioned { tenant: SettledTenant, settings: TenantSettings | null }

async function versioned (ctx: WorkflowContext, tenantId: string): Promise<Versioned> {
  const current = await ctx.tenants.getVersioned(tenantId)
  if (current === null) throw new NotFound(`tenant ${tenantId} not found`)
  return current
}

/** The settings to write back: the stored ones, or the tenants file's values at version 0. */
export function settingsOf ({ tenant, settings }: Versioned): TenantSettings {
  return settings ?? {
    tenantId: tenant.id,
    lockboxEnabled: tenant.lockboxEnabled,
    approverEmails: tenant.approverEmails,
    requireSignedApprovals: tenant.requireSignedApprovals,
    approverKeys: [],
    version: 0
  }
}

/** Every key of the tenant, revoked ones included. */
export async function approverKeysOf (ctx: WorkflowContext, tenantId: string): Promise<ApproverKey[]> {
  return (await versioned(ctx, tenantId)).settings?.approverKeys ?? []
}

/**
 * Whether a request's stored approval is proven by its approvers' signatures, checked from scratch
 * against the tenant's keys: an "Approved" written into the store by someone who holds no
 * approver's passkey is not.
 */
export async function approvalProven (ctx: WorkflowContext, req: LockboxRequest): Promise<ProofCheck> {
  const keys = await approverKeysOf(ctx, req.tenantId)
  const { approval } = req
  if (approval == null) return { ok: false, reason: 'the approval carries no approver signature' }
  if (!approvalCovers(approval, canonicalGrant(req, grantedAccess(req)))) return { ok: false, reason: 'the signed grant is not this request\'s grant' }
  const set = keySet(ctx.relyingParty, req.tenantId, keys)
  const check = verifySignedApproval(approval, set, req.approvalsRequired ?? 1)
  if (!check.ok) return check
  const extensions = verifyExtensions(approval, set, (e) => e.required)
  if (!extensions.ok) return extensions
  // The window the store holds must lie within the one the signatures allow: a lengthened
  // accessEndsAt (or an "approved" extension nobody signed) proves nothing.
  const end = signedWindowEnd(approval) as number
  if (Date.parse(req.accessEndsAt as string) > end) {
    return { ok: false, reason: `the window ends at ${req.accessEndsAt as string}, after the end the approvers signed (${iso(end)})` }
  }
  return { ok: true }
}

/**
 * An approver's signature over what they allow (a request's grant or an extension), checked against
 * their own live passkeys: null when none was given and the tenant requires none.
 */
export async function decisionProof<G extends Signable> (
  ctx: WorkflowContext, tenant: Tenant, requestId: string, signed: G, approverId: string, webauthn: AuthenticationResponseJSON | undefined, now: number
): Promise<ApprovalProof<G> | null> {
  if (webauthn === undefined) {
    if (tenant.requireSignedApprovals === true) {
      throw new SignedApprovalRequired(`tenant ${tenant.id} requires passkey-signed approvals: sign the grant (POST /v1/requests/${requestId}/approval-options) or approve in the admin center`)
    }
    return null
  }
  try {
    const proof = await verifyApproval(ctx.relyingParty, tenant.id, signed, approverId, await approverKeysOf(ctx, tenant.id), webauthn, now)
    return { ...proof, grant: signed }
  } catch (err) {
    if (err instanceof PasskeyError) throw new ApprovalSignatureInvalid(err.message)
    /* c8 ignore next 2 -- verifyApproval turns every failure into a PasskeyError (the catch block's end is counted with the rethrow) */
    throw err
  }
}

/** What an approver's authenticator signs (a grant or an extension), with WebAuthn options that only their own live passkeys answer. */
export async function signingChallenge<G extends Signable> (ctx: WorkflowContext, caller: Caller, tenantId: string, grant: G): Promise<{ grant: G, challenge: string, options: unknown }> {
  const mine = (await approverKeysOf(ctx, tenantId)).filter((k) => k.approver.id === caller.id && k.revokedAt === null)
  if (mine.length === 0) throw new InvalidState('you have no approver passkey registered: register one in the admin center first')
  return { grant, challenge: grantChallenge(grant), options: await approvalOptions(ctx.relyingParty, grant, mine) }
}

/** The tenant's key set as GET /v1/tenants/{id}/approver-keys publishes it. */
export async function publishedApproverKeys (ctx: WorkflowContext, tenantId: string): Promise<ApproverKeySet> {
  return keySet(ctx.relyingParty, tenantId, await approverKeysOf(ctx, tenantId))
}

function requireApprover (caller: Caller, tenantId: string): void {
  if (!isCustomerApprover(caller, tenantId)) throw new Forbidden(`only the approvers of ${tenantId} hold approver passkeys`)
}

/** Approvers and administrators of the tenant see its keys (the public list is /approver-keys). */
export async function listApproverKeys (ctx: WorkflowContext, caller: Caller, tenantId: string): Promise<ApproverKey[]> {
  const keys = await approverKeysOf(ctx, tenantId)
  requireApprover(caller, tenantId)
  return keys
}

export async function passkeyRegistrationOptions (
  ctx: WorkflowContext, pk: PasskeyContext, caller: Caller, tenantId: string
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const keys = await approverKeysOf(ctx, tenantId)
  requireApprover(caller, tenantId)
  return await registrationOptions(pk.rp, pk.keys, { id: caller.id, name: caller.name, tenantId }, keys, ctx.now())
}

export async function registerApproverKey (
  ctx: WorkflowContext, pk: PasskeyContext, acting: Acting, tenantId: string, response: RegistrationResponseJSON
): Promise<ApproverKey> {
  await versioned(ctx, tenantId)
  const { caller } = acting
  requireApprover(caller, tenantId)
  let key: ApproverKey
  try {
    key = await verifyRegistration(pk.rp, pk.keys, { id: caller.id, name: caller.name, tenantId }, response, ctx.now())
  } catch (err) {
    if (err instanceof PasskeyError) throw new PasskeyInvalid(err.message)
    /* c8 ignore next 2 -- verifyRegistration turns every failure into a PasskeyError (the catch block's end is counted with the rethrow) */
    throw err
  }
  return await retryOnConflict(async () => {
    const current = await versioned(ctx, tenantId)
    const settings = settingsOf(current)
    const keys = settings.approverKeys ?? []
    if (keys.some((k) => k.kid === key.kid)) throw new InvalidState('this passkey is already registered')
    await ctx.stores.lockbox.commit({
      tenantId,
      tenantSettings: { value: { ...settings, approverKeys: [...keys, key] }, expectedVersion: settings.version },
      audit: [draft('ApproverKeyRegistered', tenantId, acting, customerActingRole(caller), {
        object: key.kid,
        details: { kid: key.kid, approver: key.approver.id, alg: key.alg, jwk: key.jwk }
      })]
    })
    return key
  })
}

/** A GlobalAdministrator of the tenant revokes any key; an approver their own. */
export async function revokeApproverKey (ctx: WorkflowContext, acting: Acting, tenantId: string, kid: string): Promise<ApproverKey> {
  const { caller } = acting
  return await retryOnConflict(async () => {
    const current = await versioned(ctx, tenantId)
    requireApprover(caller, tenantId)
    const settings = settingsOf(current)
    const keys = settings.approverKeys ?? []
    const key = keys.find((k) => k.kid === kid)
    if (key === undefined) throw new NotFound(`no approver key ${kid} in tenant ${tenantId}`)
    if (!may.changeTenantSettings(caller, tenantId) && key.approver.id !== caller.id) {
      throw new Forbidden('only a GlobalAdministrator revokes another approver\'s passkey')
    }
    if (key.revokedAt !== null) throw new InvalidState(`approver key ${kid} is already revoked`)
    const revoked: ApproverKey = { ...key, revokedAt: iso(ctx.now()), revokedBy: caller.id }
    await ctx.stores.lockbox.commit({
      tenantId,
      tenantSettings: { value: { ...settings, approverKeys: keys.map((k) => k.kid === kid ? revoked : k) }, expectedVersion: settings.version },
      audit: [draft('ApproverKeyRevoked', tenantId, acting, customerActingRole(caller), {
        object: kid,
        details: { kid, approver: key.approver.id, revokedAt: revoked.revokedAt }
      })]
    })
    return revoked
  })
}
