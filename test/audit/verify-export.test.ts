import t from 'tap'
import { verifyExport } from '../../src/audit/verify-export.js'
import { sealRecord } from '../../src/domain/audit.js'
import { toOcsf } from '../../src/domain/ocsf.js'
import { chain, draftFor, linesOf } from '../helpers/audit-records.js'

const contoso = chain('contoso', 10)
const fabrikam = chain('fabrikam', 5)
const head = (records: typeof contoso, seq: number): { tenantId: string, seq: number, hash: string, time: string } =>
  ({ tenantId: records[0]!.tenantId, seq, hash: records[seq - 1]!.hash, time: '2026-11-24T10:00:00.000Z' })

t.test('accepts an intact export of several tenants', async (t) => {
  const report = await verifyExport(linesOf([...contoso.slice(0, 5), ...fabrikam, ...contoso.slice(5), '']))
  t.equal(report.valid, true)
  t.same(report.tenants.map((x) => [x.tenantId, x.records, x.firstSeq, x.headSeq, x.fromGenesis]), [['contoso', 10, 1, 10, true], ['fabrikam', 5, 1, 5, true]])
  t.equal(report.checkpoint, null)
})

t.test('finds an edited field, a deleted record and two swapped records', async (t) => {
  const edited = contoso.map((r) => r.seq === 4 ? { ...r, actor: { id: 'someone-else', type: r.actor.type } } : r)
  let report = await verifyExport(linesOf(edited))
  t.equal(report.valid, false)
  t.equal(report.tenants[0]?.firstInvalidSeq, 4)
  t.match(report.problems, [/chain broken at seq 4/])

  report = await verifyExport(linesOf(contoso.filter((r) => r.seq !== 6)))
  t.equal(report.tenants[0]?.firstInvalidSeq, 6)

  const swapped = [...contoso]
  ;[swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!]
  report = await verifyExport(linesOf(swapped))
  t.equal(report.tenants[0]?.firstInvalidSeq, 3)
})

t.test('anchors a chain that starts after retention cut its head', async (t) => {
  const report = await verifyExport(linesOf(contoso.slice(3)))
  t.equal(report.valid, true)
  t.match(report.tenants[0], { firstSeq: 4, fromGenesis: false, records: 7 })
})

t.test('proves against a checkpoint that nothing was cut from the end', async (t) => {
  let report = await verifyExport(linesOf(contoso), head(contoso, 8))
  t.equal(report.valid, true)
  t.same(report.checkpoint, { tenantId: 'contoso', seq: 8, reached: true })

  report = await verifyExport(linesOf(contoso.slice(0, 7)), head(contoso, 8))
  t.equal(report.valid, false, 'a truncated tail is found')
  t.match(report.problems, [/ends at seq 7 but the checkpoint covers seq 8/])

  const rewritten = chain('contoso', 10, undefined, Date.parse('2026-11-25T00:00:00.000Z'))
  report = await verifyExport(linesOf(rewritten), head(contoso, 8))
  t.equal(report.valid, false, 'a rewritten log with a valid chain of its own does not match the checkpoint')
  t.match(report.problems, [/differs from the checkpoint/])

  report = await verifyExport(linesOf(fabrikam), head(contoso, 8))
  t.match(report.problems, [/ends at seq 0/], 'a checkpoint of a tenant absent from the export')
})

t.test('reports lines that are not audit records', async (t) => {
  const report = await verifyExport(linesOf(['{not json', JSON.stringify({ CreationTime: 'x' }), ...contoso.slice(0, 2)]))
  t.equal(report.valid, false)
  t.match(report.problems, [/line 1: not JSON/, /line 2: not an audit record/])
  const odd = await verifyExport(linesOf(['null', '42', JSON.stringify({ class_uid: 6003 }), ...contoso.slice(0, 2)]))
  t.match(odd.problems, [/line 1: not an audit record/, /line 2: not an audit record/, /line 3: not an audit record/], 'JSON of no object, and an OCSF event that carries no native record')
})

t.test('verifies an OCSF export by the native records its events carry', async (t) => {
  const report = await verifyExport(linesOf(contoso.map((record) => toOcsf(record))))
  t.same(report.problems, [])
  t.match(report, { valid: true, tenants: [{ tenantId: 'contoso', records: 10 }] })
  const edited = contoso.map((record) => toOcsf(record))
  edited[3]!.unmapped.lockbox = { ...contoso[3]!, object: '/contoso/mailboxes/mallory' }
  t.equal((await verifyExport(linesOf(edited))).valid, false, 'an edit of the native record inside an event is found')
})

t.test('names a ContentAccessed after the record that ended its request', async (t) => {
  let head = { seq: 0, hash: '0'.repeat(64) }
  const records = (['LockboxAccessRevoked', 'ContentAccessed', 'ContentAccessed'] as const).map((operation, i) => {
    const record = sealRecord({ ...draftFor('contoso', i), operation, requestId: 'req-1' }, head, { id: `x-${i}`, time: '2026-11-24T09:00:00.000Z' })
    head = record
    return record
  })
  const report = await verifyExport(linesOf(records))
  t.equal(report.valid, false)
  t.match(report.tenants[0], { firstInvalidSeq: null, invariantViolationCount: 2, invariantViolations: [{ seq: 2, requestId: 'req-1', endedBySeq: 1 }, { seq: 3 }] })
  t.same(report.problems, [
    'tenant contoso: ContentAccessed at seq 2 for request req-1 after seq 1 ended its approval',
    'tenant contoso: ContentAccessed at seq 3 for request req-1 after seq 1 ended its approval'
  ])
  let many = { seq: 0, hash: '0'.repeat(64) }
  const flood = Array.from({ length: 105 }, (_, i) => {
    const record = sealRecord({ ...draftFor('contoso', i), operation: i === 0 ? 'LockboxAccessRevoked' : 'ContentAccessed', requestId: 'req-1' }, many, { id: `y-${i}`, time: '2026-11-24T09:00:00.000Z' })
    many = record
    return record
  })
  const big = await verifyExport(linesOf(flood))
  t.equal(big.problems.length, 101)
  t.equal(big.problems[100], 'tenant contoso: 4 more ContentAccessed after their request ended')
})

t.test('reads a settings record that names no change it knows as changing nothing about approvals', async (t) => {
  let head = { seq: 0, hash: '0'.repeat(64) }
  const drafts = [
    { operation: 'TenantSettingsUpdated', details: {} },
    { operation: 'TenantSettingsUpdated', details: { changes: { requireSignedApprovals: { from: false, to: 'yes' }, approvalsRequired: { to: '3' } } } },
    { operation: 'LockboxRequestApproved', details: { status: 'Approved' } }
  ] as const
  const records = drafts.map((fields, i) => {
    const record = sealRecord({ ...draftFor('contoso', i), ...fields }, head, { id: `s-${i}`, time: '2026-11-24T09:00:00.000Z' })
    head = record
    return record
  })
  const report = await verifyExport(linesOf(records), null, { approverKeys: [{ tenantId: 'contoso', rpId: 'lockbox.example', origins: ['https://lockbox.example'], keys: [] }] })
  t.same(report.problems, [], 'no signature is required by them')
  t.same(report.tenants[0]?.approvals, { approvals: 1, extensions: 0, proven: 0, unsigned: 1 })
})
