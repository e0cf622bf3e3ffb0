// Who may do what (API.md §1–3): roles per organisation, each permission for each kind of caller,
// separation of duties, request visibility and audit actors.
import t from 'tap'
import { createRequest, type LockboxRequest } from '../../src/domain/lockbox.js'
import {
  auditActor,
  customerActingRole,
  effectiveRoles,
  isCustomerApprover,
  isProviderStaff,
  isTenantMember,
  may,
  requestVisibility,
  violatesSeparationOfDuties,
  type Caller
} from '../../src/domain/policy.js'

const PROVIDER = 'provider'

function caller (id: string, tid: string, claimed: unknown): Caller {
  return {
    id,
    name: id,
    email: `${id}@example.com`,
    tenantId: tid,
    provider: tid === PROVIDER,
    roles: effectiveRoles(claimed, tid, PROVIDER)
  }
}

function request (requesterId: string, tenantId = 'contoso'): LockboxRequest {
  return createRequest({
    id: `req-${requesterId}`,
    tenantId,
    serviceRequestNumber: 'SR-1',
    workload: 'exchange',
    scope: '/',
    accessLevel: 'read',
    duration: 'PT1H',
    durationMs: 3_600_000,
    justification: 'investigation',
    requester: { id: requesterId, name: requesterId }
  }, { now: Date.parse('2025-03-01T08:00:00.000Z'), pendingTtlMs: 43_200_000 })
}

const engineer = caller('eng-ada', PROVIDER, ['SupportEngineer'])
const otherEngineer = caller('eng-bob', PROVIDER, ['SupportEngineer'])
const manager = caller('mgr-carol', PROVIDER, ['SupportManager'])
const managerEngineer = caller('mgr-eng-dan', PROVIDER, ['SupportEngineer', 'SupportManager'])
const security = caller('sec-erin', PROVIDER, ['SecurityReader'])
const providerNoRole = caller('prov-nobody', PROVIDER, [])
const contosoAdmin = caller('contoso-admin', 'contoso', ['GlobalAdministrator'])
const contosoApprover = caller('contoso-approver', 'contoso', ['CustomerLockboxApprover'])
const contosoUser = caller('contoso-user', 'contoso', [])
const fabrikamAdmin = caller('fabrikam-admin', 'fabrikam', ['GlobalAdministrator'])
const rogue = caller('rogue-contoso-engineer', 'contoso', ['SupportEngineer', 'SupportManager', 'SecurityReader'])

// Requests in contoso: one by Ada, one by Dan (manager and engineer), one whose requester id is the
// rogue customer's.
const adaRequest = request('eng-ada')
const danRequest = request('mgr-eng-dan')
const rogueRequest = request('rogue-contoso-engineer')

t.test('counts provider roles only with the provider tid', async (t) => {
  t.strictSame([...effectiveRoles(['SupportEngineer', 'SupportManager', 'SecurityReader'], PROVIDER, PROVIDER)],
    ['SupportEngineer', 'SupportManager', 'SecurityReader'])
  t.strictSame([...effectiveRoles(['SupportEngineer', 'SupportManager', 'SecurityReader'], 'contoso', PROVIDER)], [])
  t.strictSame([...effectiveRoles(['GlobalAdministrator', 'CustomerLockboxApprover'], PROVIDER, PROVIDER)], [])
  // The provider tenant id is configurable: "provider" is then an ordinary customer tid.
  t.strictSame([...effectiveRoles(['SupportManager'], PROVIDER, 'acme-support')], [])
  t.strictSame([...effectiveRoles(['SupportManager'], 'acme-support', 'acme-support')], ['SupportManager'])
})

t.test('counts customer roles only with a customer tid', async (t) => {
  t.strictSame([...effectiveRoles(['GlobalAdministrator', 'SupportManager', 'CustomerLockboxApprover'], 'contoso', PROVIDER)],
    ['GlobalAdministrator', 'CustomerLockboxApprover'])
})

t.test('ignores junk in the roles claim', async (t) => {
  t.strictSame([...effectiveRoles(['SupportEngineer', 'supportengineer', 'Admin', '', 42, null, {}, ['SupportManager']], PROVIDER, PROVIDER)],
    ['SupportEngineer'])
  t.strictSame([...effectiveRoles(['SupportEngineer', 'SupportEngineer'], PROVIDER, PROVIDER)], ['SupportEngineer'])
})

t.test('grants no role when the roles claim is not an array', async (t) => {
  for (const claim of [undefined, null, 'SupportEngineer', 'GlobalAdministrator', { 0: 'SupportEngineer' }, 1]) {
    t.equal(effectiveRoles(claim, PROVIDER, PROVIDER).size, 0, JSON.stringify(claim) ?? 'undefined')
    t.equal(effectiveRoles(claim, 'contoso', PROVIDER).size, 0, JSON.stringify(claim) ?? 'undefined')
  }
})

t.test('gives a customer claiming provider roles none of them', async (t) => {
  t.equal(rogue.roles.size, 0)
  t.equal(rogue.provider, false)
})

t.test('recognises provider staff, tenant members and customer approvers', async (t) => {
  t.ok(isProviderStaff(engineer))
  t.ok(isProviderStaff(security))
  t.notOk(isProviderStaff(providerNoRole), 'a provider account without a role is not staff')
  t.notOk(isProviderStaff(contosoAdmin))
  t.ok(isTenantMember(contosoUser, 'contoso'))
  t.notOk(isTenantMember(contosoUser, 'fabrikam'))
  t.notOk(isTenantMember(engineer, PROVIDER), 'the provider is not a customer tenant')
  t.ok(isCustomerApprover(contosoAdmin, 'contoso'))
  t.ok(isCustomerApprover(contosoApprover, 'contoso'))
  t.notOk(isCustomerApprover(contosoUser, 'contoso'))
  t.notOk(isCustomerApprover(contosoAdmin, 'fabrikam'))
  t.notOk(isCustomerApprover(rogue, 'contoso'))
})

// Every permission for every kind of caller. Requests are `adaRequest` (contoso) unless the row says
// otherwise: a caller's "own" request is the one it created.
interface Expected {
  readTenant: [contoso: boolean, fabrikam: boolean]
  changeTenantSettings: [contoso: boolean, fabrikam: boolean]
  openServiceRequest: [contoso: boolean, fabrikam: boolean]
  readServiceRequests: [contoso: boolean, fabrikam: boolean]
  closeServiceRequest: [contoso: boolean, fabrikam: boolean]
  createRequest: boolean
  seeAllRequests: boolean
  seeRequest: boolean
  review: boolean
  decide: boolean
  cancel: boolean
  obtainToken: boolean
  readAudit: [contoso: boolean, fabrikam: boolean]
  readAllAudit: boolean
}

const none: Expected = {
  readTenant: [false, false],
  changeTenantSettings: [false, false],
  openServiceRequest: [false, false],
  readServiceRequests: [false, false],
  closeServiceRequest: [false, false],
  createRequest: false,
  seeAllRequests: false,
  seeRequest: false,
  review: false,
  decide: false,
  cancel: false,
  obtainToken: false,
  readAudit: [false, false],
  readAllAudit: false
}
const providerStaff: Expected = {
  ...none,
  readTenant: [true, true],
  readServiceRequests: [true, true],
  closeServiceRequest: [true, true]
}
const contosoMember: Expected = {
  ...none,
  readTenant: [true, false],
  openServiceRequest: [true, false],
  readServiceRequests: [true, false],
  closeServiceRequest: [true, false]
}
const contosoDecider: Expected = { ...contosoMember, seeRequest: true, decide: true, readAudit: [true, false] }

const matrix: Array<[string, Caller, LockboxRequest, Expected]> = [
  ['an engineer on its own request', engineer, adaRequest,
    { ...providerStaff, createRequest: true, seeRequest: true, cancel: true, obtainToken: true }],
  ['another engineer', otherEngineer, adaRequest, { ...providerStaff, createRequest: true }],
  ['a manager', manager, adaRequest, { ...providerStaff, seeAllRequests: true, seeRequest: true, review: true }],
  ['a manager who is also the requester', managerEngineer, danRequest,
    { ...providerStaff, createRequest: true, seeAllRequests: true, seeRequest: true, review: true, cancel: true, obtainToken: true }],
  ['a manager-engineer on someone else\'s request', managerEngineer, adaRequest,
    { ...providerStaff, createRequest: true, seeAllRequests: true, seeRequest: true, review: true }],
  ['a security reader', security, adaRequest,
    { ...providerStaff, closeServiceRequest: [false, false], seeAllRequests: true, seeRequest: true, readAudit: [true, true], readAllAudit: true }],
  ['a provider account without a role', providerNoRole, adaRequest, none],
  ['a contoso admin', contosoAdmin, adaRequest, { ...contosoDecider, changeTenantSettings: [true, false] }],
  ['a contoso approver', contosoApprover, adaRequest, contosoDecider],
  ['a contoso user without a role', contosoUser, adaRequest, contosoMember],
  ['a fabrikam admin on a contoso request', fabrikamAdmin, adaRequest, {
    ...none,
    readTenant: [false, true],
    changeTenantSettings: [false, true],
    openServiceRequest: [false, true],
    readServiceRequests: [false, true],
    closeServiceRequest: [false, true],
    readAudit: [false, true]
  }],
  ['a contoso user claiming provider roles, on a request under its own id', rogue, rogueRequest, contosoMember]
]

for (const [who, c, r, expected] of matrix) {
  t.test(`decides every permission for ${who}`, async (t) => {
    const tenants = ['contoso', 'fabrikam'] as const
    const actual: Expected = {
      readTenant: [may.readTenant(c, tenants[0]), may.readTenant(c, tenants[1])],
      changeTenantSettings: [may.changeTenantSettings(c, tenants[0]), may.changeTenantSettings(c, tenants[1])],
      openServiceRequest: [may.openServiceRequest(c, tenants[0]), may.openServiceRequest(c, tenants[1])],
      readServiceRequests: [may.readServiceRequests(c, tenants[0]), may.readServiceRequests(c, tenants[1])],
      closeServiceRequest: [may.closeServiceRequest(c, tenants[0]), may.closeServiceRequest(c, tenants[1])],
      createRequest: may.createRequest(c),
      seeAllRequests: may.seeAllRequests(c),
      seeRequest: may.seeRequest(c, r),
      review: may.review(c),
      decide: may.decide(c, r),
      cancel: may.cancel(c, r),
      obtainToken: may.obtainToken(c, r),
      readAudit: [may.readAudit(c, tenants[0]), may.readAudit(c, tenants[1])],
      readAllAudit: may.readAllAudit(c)
    }
    t.strictSame(actual, expected)
  })
}

t.test('lets a customer approver see and decide only its own tenant\'s requests', async (t) => {
  const fabrikamRequest = request('eng-ada', 'fabrikam')
  t.notOk(may.seeRequest(contosoAdmin, fabrikamRequest))
  t.notOk(may.decide(contosoApprover, fabrikamRequest))
  t.ok(may.seeRequest(fabrikamAdmin, fabrikamRequest))
  t.ok(may.decide(fabrikamAdmin, fabrikamRequest))
})

t.test('flags a manager reviewing a request it created', async (t) => {
  t.ok(violatesSeparationOfDuties(managerEngineer, danRequest))
  t.notOk(violatesSeparationOfDuties(managerEngineer, adaRequest))
  t.notOk(violatesSeparationOfDuties(manager, adaRequest))
})

t.test('narrows request listings to what each caller may see', async (t) => {
  t.strictSame(requestVisibility(manager), {})
  t.strictSame(requestVisibility(security), {})
  t.strictSame(requestVisibility(managerEngineer), {}, 'a manager who is also an engineer sees all')
  t.strictSame(requestVisibility(engineer), { requesterId: 'eng-ada' })
  t.strictSame(requestVisibility(otherEngineer), { requesterId: 'eng-bob' })
  t.strictSame(requestVisibility(contosoAdmin), { tenantId: 'contoso' })
  t.strictSame(requestVisibility(contosoApprover), { tenantId: 'contoso' })
  t.strictSame(requestVisibility(fabrikamAdmin), { tenantId: 'fabrikam' })
  t.equal(requestVisibility(contosoUser), null)
  t.equal(requestVisibility(rogue), null)
  t.equal(requestVisibility(providerNoRole), null)
})

t.test('picks the strongest customer role to act in', async (t) => {
  t.equal(customerActingRole(contosoAdmin), 'GlobalAdministrator')
  t.equal(customerActingRole(caller('both', 'contoso', ['CustomerLockboxApprover', 'GlobalAdministrator'])), 'GlobalAdministrator')
  t.equal(customerActingRole(contosoApprover), 'CustomerLockboxApprover')
  t.equal(customerActingRole(contosoUser), 'CustomerUser')
  t.equal(customerActingRole(rogue), 'CustomerUser')
})

t.test('maps each acting role to an audit actor type', async (t) => {
  t.strictSame(auditActor(managerEngineer, 'SupportEngineer'), { id: 'mgr-eng-dan', type: 'SupportEngineer' })
  t.strictSame(auditActor(managerEngineer, 'SupportManager'), { id: 'mgr-eng-dan', type: 'SupportManager' })
  t.strictSame(auditActor(contosoAdmin, 'GlobalAdministrator'), { id: 'contoso-admin', type: 'CustomerApprover' })
  t.strictSame(auditActor(contosoApprover, 'CustomerLockboxApprover'), { id: 'contoso-approver', type: 'CustomerApprover' })
  t.strictSame(auditActor(contosoAdmin, 'CustomerUser'), { id: 'contoso-admin', type: 'CustomerUser' })
  t.strictSame(auditActor(manager, 'CustomerUser'), { id: 'mgr-carol', type: 'SupportEngineer' },
    'provider staff never appear as a customer user')
  t.strictSame(auditActor(engineer, 'System'), { id: 'system', type: 'System' })
})

t.test('picks a default audit actor from the caller\'s roles', async (t) => {
  t.strictSame(auditActor(engineer), { id: 'eng-ada', type: 'SupportEngineer' })
  t.strictSame(auditActor(manager), { id: 'mgr-carol', type: 'SupportManager' })
  t.strictSame(auditActor(managerEngineer), { id: 'mgr-eng-dan', type: 'SupportEngineer' })
  t.strictSame(auditActor(security), { id: 'sec-erin', type: 'SupportEngineer' })
  t.strictSame(auditActor(providerNoRole), { id: 'prov-nobody', type: 'SupportEngineer' })
  t.strictSame(auditActor(contosoAdmin), { id: 'contoso-admin', type: 'CustomerApprover' })
  t.strictSame(auditActor(contosoApprover), { id: 'contoso-approver', type: 'CustomerApprover' })
  t.strictSame(auditActor(contosoUser), { id: 'contoso-user', type: 'CustomerUser' })
  t.strictSame(auditActor(rogue), { id: 'rogue-contoso-engineer', type: 'CustomerUser' })
})
