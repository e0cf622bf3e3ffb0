import t from 'tap'
import { AUDIT_OPERATIONS, hashRecord, type AuditActorType, type AuditRecord } from '../../src/domain/audit.js'
import { toOcsf } from '../../src/domain/ocsf.js'
import { chain } from '../helpers/audit-records.js'
import { ocsfErrors } from '../helpers/ocsf.js'

const ACTORS: AuditActorType[] = ['SupportEngineer', 'SupportManager', 'CustomerApprover', 'CustomerUser', 'System']

t.test('maps a content read onto Web Resources Activity: Read, with the record id, seq and chain hash', async (t) => {
  const [, , , record] = chain('contoso', 4)
  const read = { ...record!, details: { accessId: 'a1', method: 'GET', path: record!.object, query: '' } } as AuditRecord
  const event = toOcsf(read)
  t.same(ocsfErrors(event), [])
  t.match(event, {
    class_uid: 6001,
    class_name: 'Web Resources Activity',
    category_uid: 6,
    activity_id: 2,
    activity_name: 'Read',
    type_uid: 600102,
    type_name: 'Web Resources Activity: Read',
    time: Date.parse(record!.time),
    severity_id: 1,
    status_id: 1,
    status: 'Success',
    metadata: {
      version: '1.3.0',
      product: { name: 'Lockbox Gateway', vendor_name: 'Lockbox Gateway', feature: { name: 'exchange' } },
      uid: record!.id,
      sequence: 4,
      tenant_uid: 'contoso',
      correlation_uid: 'req-3',
      event_code: 'ContentAccessed',
      original_time: record!.time
    },
    actor: { user: { uid: 'eng-ada', name: 'eng-ada', type_id: 99, type: 'SupportEngineer' } },
    src_endpoint: { ip: '127.0.0.1' },
    web_resources: [{ type: 'exchange', uid: '/mailboxes/alice@contoso.com/messages/3' }],
    http_request: { http_method: 'GET', url: { path: '/mailboxes/alice@contoso.com/messages/3' } }
  })
  t.equal(event.status_detail, undefined)
  t.same(event.unmapped.lockbox, read, 'the native record rides along whole')
  const { hash, ...unsealed } = toOcsf(record!).unmapped.lockbox as AuditRecord
  t.equal(hashRecord(unsealed), hash, 'its hash checks against the chain')
  t.equal(hash, record!.hash)
})

t.test('maps each HTTP method to its activity, and a completed exchange with its response code', async (t) => {
  const [record] = chain('contoso', 1)
  const cases: Array<[string | undefined, number]> = [['POST', 1], ['put', 3], ['PATCH', 3], ['DELETE', 4], ['HEAD', 2], ['OPTIONS', 2], ['BREW', 99], ['CONNECT', 99], ['trace', 99], [undefined, 0]]
  for (const [method, activity] of cases) {
    const event = toOcsf({ ...record!, operation: 'ContentAccessCompleted', workload: 'sharepoint', details: { method, status: 201 } } as AuditRecord)
    t.equal(event.activity_id, activity, `${String(method)} is activity ${activity}`)
    t.equal(event.activity_name, activity === 99 ? 'ContentAccessCompleted' : ['Unknown', 'Create', 'Read', 'Update', 'Delete'][activity])
    t.same(ocsfErrors(event), [], `${String(method)} validates`)
    if (method === 'BREW') t.same(event.http_request, { url: { path: record!.object } }, 'a method OCSF does not know is left to the activity')
    if (method === 'CONNECT' || method === 'trace') {
      t.same(event.http_request, { http_method: method.toUpperCase(), url: { path: record!.object } }, `${method}: a standard method OCSF names, though no activity of its own`)
    }
    t.same(event.http_response, { code: 201 })
  }
})

t.test('maps a refusal summary (no object, no request, no method) as a denied web resource access', async (t) => {
  const [record] = chain('contoso', 1)
  const event = toOcsf({ ...record!, operation: 'ContentAccessDenied', result: 'Denied', requestId: null, object: null, workload: null, clientIp: null, details: { count: 3 } })
  t.same(ocsfErrors(event), [])
  t.match(event, { class_uid: 6001, activity_id: 0, status_id: 2, status: 'Failure', status_detail: 'Denied', severity_id: 3, severity: 'Medium', web_resources: [{ type: 'content', name: 'content' }], src_endpoint: { name: 'Lockbox Gateway' } })
  t.notOk('correlation_uid' in event.metadata)
  t.notOk('http_request' in event)
  const withMethod = toOcsf({ ...record!, operation: 'ContentAccessDenied', result: 'Denied', object: null, details: { method: 'GET' } })
  t.same(withMethod.http_request, { http_method: 'GET' }, 'a content record of no object, with a method: the method, and no path')
  t.same(ocsfErrors(withMethod), [])
})

t.test('maps every workflow step onto API Activity, and every record of any shape validates', async (t) => {
  const [base] = chain('contoso', 2).slice(1)
  let checked = 0
  for (const operation of AUDIT_OPERATIONS) {
    for (const result of ['Success', 'Failure', 'Denied'] as const) {
      for (const type of ACTORS) {
        for (const clientIp of ['10.0.0.7', '2001:db8::1', null]) {
          const event = toOcsf({ ...base!, operation, result, actor: { id: 'someone', type }, clientIp, details: { method: 'GET', status: 200 } })
          t.same(ocsfErrors(event), [], `${operation} ${result} ${type} ${String(clientIp)}`)
          checked++
        }
      }
    }
  }
  t.comment(`${checked} events validated`)
  const created = toOcsf({ ...base!, operation: 'LockboxRequestCreated', object: 'req-1', requestId: 'req-1' })
  t.match(created, { class_uid: 6003, activity_id: 1, type_uid: 600301, api: { operation: 'LockboxRequestCreated', service: { name: 'Customer Lockbox' }, request: { uid: 'req-1' } }, resources: [{ uid: 'req-1', type: 'LockboxRequest' }] })
  t.match(toOcsf({ ...base!, operation: 'LockboxRequestApproved' }), { activity_id: 3, activity_name: 'Update' })
  t.match(toOcsf({ ...base!, operation: 'ApproversNotified' }), { activity_id: 99, activity_name: 'ApproversNotified', type_uid: 600399 })
  t.match(toOcsf({ ...base!, operation: 'TenantSettingsUpdated', requestId: null, object: 'contoso' }), { resources: [{ uid: 'contoso', type: 'Object' }] })
  const bare = toOcsf({ ...base!, operation: 'TenantSettingsUpdated', requestId: null, object: null })
  t.notOk('resources' in bare)
  t.notOk('request' in (bare.api as object))
  t.same(ocsfErrors(bare), [])
})

t.test('maps a record an older version wrote, and an actor type or result it does not know, as the least they could be', async (t) => {
  const [record] = chain('contoso', 1)
  const { clientIp: _ip, requestId: _r, workload: _w, object: _o, details: _d, ...old } = record!
  const event = toOcsf({ ...old, actor: { id: 'x', type: 'Robot' as AuditActorType }, result: 'Odd' as 'Success', operation: 'ContentAccessed' })
  t.same(ocsfErrors(event), [])
  t.match(event, { actor: { user: { type_id: 99, type: 'Robot' } }, status_id: 2, status_detail: 'Odd', severity_id: 2, src_endpoint: { name: 'Lockbox Gateway' } })
})

t.test('the validator refuses an event of a class it holds no schema for, and a malformed one', async (t) => {
  t.same(ocsfErrors({ class_uid: 1001 }), ['no schema for class_uid 1001'])
  const [record] = chain('contoso', 1)
  const event = toOcsf(record!)
  t.not(ocsfErrors({ ...event, metadata: { ...event.metadata, product: {} } }), [])
  t.not(ocsfErrors({ ...event, surprise: 1 }), [])
  t.not(ocsfErrors({ ...event, http_request: { http_method: 'BREW' } }), [])
})
