// Issuing an access token (API.md §3 "token", §4): the requester of an Approved request only.
import { grantedAccess } from '../domain/granted-access.js'
import { effectiveStatus } from '../domain/lockbox.js'
import { may } from '../domain/policy.js'
import { ApprovalNotProven, Forbidden, InvalidState } from '../errors.js'
import { issueAccessToken, type IssuedToken } from '../gateway/access-token.js'
import type { SigningKeys } from '../gateway/signing-keys.js'
import { draft, retryOnConflict, type Acting, type WorkflowContext } from './context.js'
import { loadVisibleRequest, tenantOf } from './requests.js'
import { approvalProven } from './passkeys.js'

export async function issueToken (ctx: WorkflowContext, keys: SigningKeys, acting: Acting, id: string): Promise<IssuedToken> {
  return await retryOnConflict(async () => {
    const req = await loadVisibleRequest(ctx, acting.caller, id)
    if (!may.obtainToken(acting.caller, req)) throw new Forbidden('only the requester obtains the access token')
    const now = ctx.now()
    const status = effectiveStatus(req, now)
    if (status !== 'Approved') throw new InvalidState(`no access token for a request that is ${status}`)
    if ((await tenantOf(ctx, req)).requireSignedApprovals === true) {
      const proven = await approvalProven(ctx, req)
      if (!proven.ok) throw new ApprovalNotProven(`tenant ${req.tenantId} requires signed approvals, and this one is not proven: ${proven.reason}`)
    }
    const issued = await issueAccessToken(keys, req, now)
    const granted = grantedAccess(req)
    await ctx.stores.lockbox.commit({
      tenantId: req.tenantId,
      // Rewritten unchanged so that a revoke racing with the issue makes one of them retry.
      requests: [{ value: req, expectedVersion: req.version }],
      audit: [draft('LockboxAccessTokenIssued', req.tenantId, acting, 'SupportEngineer', {
        requestId: req.id,
        workload: req.workload,
        object: granted.scope,
        details: { jti: issued.jti, expiresAt: issued.expiresAt, accessLevel: granted.accessLevel, scope: granted.scope }
      })]
    })
    return issued
  })
}
