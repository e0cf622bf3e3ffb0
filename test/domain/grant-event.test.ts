import t from 'tap'
import { grantEventsOf } from '../../src/domain/grant-event.js'
import type { RequestStatus } from '../../src/domain/lockbox.js'

const step = (from: RequestStatus, to: RequestStatus): unknown => grantEventsOf(from, { id: 'r-1', tenantId: 'contoso', status: to })

t.test('a step out of Approved ends its grant, with the status it went to', async (t) => {
  t.same(step('Approved', 'Revoked'), [{ requestId: 'r-1', tenantId: 'contoso', status: 'Revoked' }], 'revoke')
  t.same(step('Approved', 'Completed'), [{ requestId: 'r-1', tenantId: 'contoso', status: 'Completed' }], 'cancel, close, window end')
})

t.test('a step that stays in Approved, or never was in it, ends nothing', async (t) => {
  t.same(step('Approved', 'Approved'), [], 'a token, an extension step')
  t.same(step('AwaitingCustomerApproval', 'Approved'), [], 'the approval itself')
  t.same(step('AwaitingCustomerApproval', 'Denied'), [], 'a denial')
  t.same(step('AwaitingManagerApproval', 'Expired'), [], 'an expiry')
  t.same(step('AwaitingCustomerApproval', 'Canceled'), [], 'a cancel before approval')
  t.same(step('Revoked', 'Revoked'), [], 'a final request rewritten')
})
