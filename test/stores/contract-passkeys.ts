// Approver passkeys and signed approvals in the store (issue 19): both backends keep a tenant's keys
// with its settings, and a request's approval proofs with the request, whole and compare-and-set.
import type { AuditRecord } from '../../src/domain/audit.js'
import type { SignedApproval } from '../../src/domain/approval.js'
import type { ApproverKey, TenantSettings } from '../../src/domain/tenant.js'
import { ConflictError } from '../../src/errors.js'
import { draft, newRequest, openFor, type OpenStores, type Test } from './contract-fixtures.js'

const KEY: ApproverKey = {
  kid: 'q0bT6kyl3rP8-kQ2VNkD0w',
  approver: { id: 'contoso-approver', name: 'Lee Gu' },
  jwk: { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' },
  alg: 'ES256',
  cosePublicKey: 'pQECAyYgASFYIH_',
  transports: ['usb', 'internal'],
  createdAt: '2026-01-01T00:00:00.000Z',
  revokedAt: null,
  revokedBy: null
}

export function passkeysContract (t: Test, open: OpenStores): void {
  t.test('keeps approver keys and the signed-approvals setting with the tenant settings, with their audit record in one step', async (t) => {
    const stores = await openFor(t, open)
    const settings: TenantSettings = { tenantId: 'contoso', lockboxEnabled: true, approverEmails: [], requireSignedApprovals: false, approverKeys: [KEY], version: 0 }
    const [record] = await stores.lockbox.commit({
      tenantId: 'contoso',
      tenantSettings: { value: settings, expectedVersion: 0 },
      audit: [draft('ApproverKeyRegistered', { actorId: 'contoso-approver' })]
    }) as [AuditRecord]
    t.equal(record.operation, 'ApproverKeyRegistered')
    t.same(await stores.lockbox.getTenantSettings('contoso'), { ...settings, version: 1 })

    const revoked = { ...KEY, revokedAt: '2026-01-02T00:00:00.000Z', revokedBy: 'contoso-admin' }
    const stale = { ...settings, approverKeys: [revoked], requireSignedApprovals: true }
    await t.rejects(stores.lockbox.commit({
      tenantId: 'contoso', tenantSettings: { value: stale, expectedVersion: 0 }, audit: [draft('ApproverKeyRevoked')]
    }), ConflictError, 'a revocation on a stale version')
    t.equal((await stores.audit.query({ tenantId: 'contoso', operations: ['ApproverKeyRevoked'], limit: 10 })).items.length, 0, 'and no record of it')
    await stores.lockbox.commit({ tenantId: 'contoso', tenantSettings: { value: stale, expectedVersion: 1 }, audit: [draft('ApproverKeyRevoked')] })
    const stored = await stores.lockbox.getTenantSettings('contoso')
    t.same(stored?.approverKeys, [revoked])
    t.equal(stored?.requireSignedApprovals, true)
    t.equal(stored?.version, 2)
  })

  t.test('keeps a request\'s signed approval whole', async (t) => {
    const stores = await openFor(t, open)
    const request = newRequest()
    const approval: SignedApproval = {
      grant: {
        type: 'lockbox-grant/v1',
        requestId: request.id,
        tenantId: 'contoso',
        workload: request.workload,
        scope: request.scope,
        accessLevel: request.accessLevel,
        duration: request.duration,
        requester: request.requester.id,
        serviceRequestNumber: request.serviceRequestNumber,
        justification: 'Ünïcödé and "quotes" survive'
      },
      proofs: [{ kid: KEY.kid, approver: 'contoso-approver', authenticatorData: 'AAAA', clientDataJSON: 'eyJ9', signature: 'MEUC', approvedAt: '2026-01-01T00:00:00.000Z' }]
    }
    await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: { ...request, approval }, expectedVersion: 0 }], audit: [draft('LockboxRequestApproved', { requestId: request.id })] })
    t.same((await stores.lockbox.getRequest(request.id))?.approval, approval)
  })
}
