import t from 'tap'
import { toO365 } from '../../src/domain/o365.js'
import { chain } from '../helpers/audit-records.js'

t.test('maps a content access onto the common schema, keeping our fields', async (t) => {
  const [, , , record] = chain('contoso', 4)
  const mapped = toO365(record!)
  t.same(mapped, {
    CreationTime: '2026-11-24T09:00:03',
    Id: 'contoso-4',
    Operation: 'ContentAccessed',
    OrganizationId: 'contoso',
    RecordType: 2,
    ResultStatus: 'Succeeded',
    UserKey: 'eng-ada',
    UserType: 3,
    Version: 1,
    Workload: 'Exchange',
    ClientIP: '127.0.0.1',
    ObjectId: '/mailboxes/alice@contoso.com/messages/3',
    UserId: 'eng-ada',
    LockboxRequestId: 'req-3',
    LockboxSeq: 4,
    LockboxResult: 'Success',
    LockboxDetails: { n: 3 },
    LockboxPrevHash: record!.prevHash,
    LockboxHash: record!.hash
  })
})

t.test('records workflow steps as admin actions and file access as file operations', async (t) => {
  const [, created] = chain('contoso', 2)
  const workflow = toO365({ ...created!, workload: null, clientIp: null, object: null, actor: { id: 'contoso-approver', type: 'CustomerApprover' }, result: 'Denied' })
  t.match(workflow, { RecordType: 1, Workload: 'CustomerLockbox', ClientIP: '', ObjectId: '', UserType: 2, ResultStatus: 'Failed', LockboxResult: 'Denied' })
  const files = toO365({ ...created!, operation: 'ContentAccessDenied', workload: 'onedrive' })
  t.match(files, { RecordType: 6, Workload: 'OneDrive' })
  const other = toO365({ ...created!, operation: 'ContentAccessCompleted', workload: 'teams' })
  t.match(other, { RecordType: 6, Workload: 'teams' }, 'an unknown workload keeps its name')
  t.equal(toO365({ ...created!, actor: { id: 'system', type: 'System' } }).UserType, 4)
  t.equal(toO365({ ...created!, actor: { id: 'alex', type: 'CustomerUser' } }).UserType, 0)
  t.equal(toO365({ ...created!, actor: { id: 'carol', type: 'SupportManager' } }).UserType, 3)
})

t.test('maps a record that lacks a field this version always writes', async (t) => {
  const [, created] = chain('contoso', 2)
  const { clientIp, requestId, workload, object, details, ...old } = created!
  const mapped = toO365({ ...old, actor: { id: 'x', type: 'Robot' as never } })
  t.match(mapped, { ClientIP: '', ObjectId: '', LockboxRequestId: null, Workload: 'CustomerLockbox', LockboxDetails: {}, UserType: 4 })
  t.same(toO365({ ...old, operation: 'ContentAccessed' }).RecordType, 6, 'a content record without a workload is a file operation')
})
