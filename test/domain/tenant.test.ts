// Tenant helpers: the public view of a service request and stored settings over the tenants file.
import t from 'tap'
import { countedServiceRequestNumber, FIRST_SERVICE_REQUEST_NUMBER, publishedKeys, serviceRequestNumberAfter, viewServiceRequest, withSettings, type ServiceRequest, type Tenant } from '../../src/domain/tenant.js'

const contoso: Tenant = {
  id: 'contoso',
  displayName: 'Contoso Ltd.',
  lockboxEnabled: true,
  approverEmails: ['lockbox-approvers@contoso.com']
}

t.test('shows a service request without its version', async (t) => {
  const sr: ServiceRequest = {
    number: 'SR-1001',
    tenantId: 'contoso',
    title: 'Mail loop',
    description: null,
    status: 'Open',
    createdBy: { id: 'contoso-user', name: 'Alex Wilber' },
    createdAt: '2025-03-01T08:00:00.000Z',
    closedAt: null,
    version: 3
  }
  const view = viewServiceRequest(sr)
  t.notOk('version' in view)
  t.strictSame(view, {
    number: 'SR-1001',
    tenantId: 'contoso',
    title: 'Mail loop',
    description: null,
    status: 'Open',
    createdBy: { id: 'contoso-user', name: 'Alex Wilber' },
    createdAt: '2025-03-01T08:00:00.000Z',
    closedAt: null
  })
  t.equal(sr.version, 3, 'the stored value is not changed')
})

t.test('keeps the tenants file entry when nothing is stored', async (t) => {
  t.strictSame(withSettings(contoso, null), { ...contoso, requireSignedApprovals: false })
  t.equal(withSettings({ ...contoso, requireSignedApprovals: true }, null).requireSignedApprovals, true, 'the file may require signed approvals')
})

t.test('lets stored settings win over the tenants file', async (t) => {
  const merged = withSettings(contoso, { tenantId: 'contoso', lockboxEnabled: false, approverEmails: [], version: 2 })
  t.strictSame(merged, { id: 'contoso', displayName: 'Contoso Ltd.', lockboxEnabled: false, approverEmails: [], requireSignedApprovals: false })
  t.equal(withSettings(contoso, { tenantId: 'contoso', lockboxEnabled: true, approverEmails: [], requireSignedApprovals: true, version: 3 }).requireSignedApprovals, true)
  t.equal(contoso.lockboxEnabled, true, 'the file entry is not changed')
  t.strictSame(contoso.approverEmails, ['lockbox-approvers@contoso.com'])
})

t.test('numbers service requests from 100001 on, after the last number counted', async (t) => {
  t.equal(serviceRequestNumberAfter(undefined), FIRST_SERVICE_REQUEST_NUMBER, 'a tenant\'s first')
  t.equal(serviceRequestNumberAfter(100001), 100002)
  t.equal(serviceRequestNumberAfter(7), FIRST_SERVICE_REQUEST_NUMBER, 'never below the first')
  t.equal(countedServiceRequestNumber('100005'), 100005, 'a plain decimal number is counted')
  t.equal(countedServiceRequestNumber('legacy-7'), null, 'anything else is not')
  t.equal(countedServiceRequestNumber('1234567890123456'), null, 'nor a number too long to count exactly')
})

t.test('publishes keys with their validity in epoch seconds', async (t) => {
  const key = { kid: 'k1', approver: { id: 'lee', name: 'Lee' }, jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AA' }, alg: 'EdDSA' as const, cosePublicKey: '', transports: [], createdAt: '2026-01-01T00:00:01.500Z', revokedAt: null, revokedBy: null }
  t.strictSame(publishedKeys([key]), [{ kty: 'OKP', crv: 'Ed25519', x: 'AA', kid: 'k1', alg: 'EdDSA', use: 'sig', sub: 'lee', nbf: 1767225601 }])
  t.equal(publishedKeys([{ ...key, revokedAt: '2026-01-01T00:01:00.000Z' }])[0]?.exp, 1767225660)
})
