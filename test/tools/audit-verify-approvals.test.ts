// The offline proof of approvals: from an export and the tenant's published keys alone, every
// approval is shown signed by the tenant's approvers, and an Approved written by an insider is not.
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../src/tools/audit-verify.js'
import { iso, type LockboxRequest } from '../../src/domain/lockbox.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { tempDir } from '../helpers/config.js'
import { listen } from '../helpers/content.js'
import { registerPasskey, signedDecision } from '../helpers/passkeys.js'
import { createRequest, decide, review } from '../helpers/workflow.js'

async function run (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s + '\n' }, err: (s) => { err += s + '\n' } })
  return { code, out, err }
}

async function exportTo (h: TestApp, file: string): Promise<void> {
  const res = await h.as('sec-erin', { method: 'GET', url: '/v1/audit/export?tenantId=contoso' })
  writeFileSync(file, res.body)
}

async function insiderApproves (h: TestApp, id: string, approval?: unknown, claims: Record<string, unknown> = {}): Promise<void> {
  const stored = await h.app.stores.lockbox.getRequest(id) as LockboxRequest
  const now = h.now()
  const details: Record<string, unknown> = { serviceRequestNumber: stored.serviceRequestNumber, accessLevel: stored.accessLevel, duration: stored.duration, requester: stored.requester.id, status: 'Approved' }
  if (approval !== undefined) details.approval = approval
  Object.assign(details, claims)
  await h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    requests: [{ value: { ...stored, status: 'Approved', decisionDeadline: null, accessStartsAt: iso(now), accessEndsAt: iso(now + stored.durationMs) }, expectedVersion: stored.version }],
    audit: [{ tenantId: 'contoso', operation: 'LockboxRequestApproved', result: 'Success', actor: { id: 'contoso-approver', type: 'CustomerApprover' }, clientIp: null, requestId: id, workload: 'exchange', object: stored.scope, details }]
  })
}

/** A test app serving its approver keys on a real port, and a folder for the export. */
async function verifierSetup (t: Test): Promise<{ h: TestApp, dir: string, keysUrl: string }> {
  const dir = tempDir()
  t.teardown(dir.remove)
  const h = await startTestApp()
  t.teardown(h.close)
  const port = await listen(h)
  return { h, dir: dir.path, keysUrl: `http://127.0.0.1:${port}/v1/tenants/contoso/approver-keys` }
}

t.test('proves each approval from the export and the published keys, and names the one nobody signed', async (t) => {
  const { h, dir, keysUrl } = await verifierSetup(t)

  // Before the tenant requires signatures: one unsigned approval, one signed.
  const before = await createRequest(h)
  await review(h, before.id)
  await decide(h, before.id)
  const lee = await registerPasskey(h, 'contoso-approver')
  const early = await createRequest(h)
  await review(h, early.id)
  t.equal((await signedDecision(h, early.id, lee)).statusCode, 200)
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)
  const signed = await createRequest(h)
  await review(h, signed.id)
  const approval = (await signedDecision(h, signed.id, lee)).json().approval

  const honest = join(dir, 'honest.ndjson')
  await exportTo(h, honest)
  let res = await run([honest, '--approver-keys', keysUrl])
  t.equal(res.code, 0, res.out)
  t.match(res.out, /contoso: 3 approvals, 2 proven by approver signatures, 1 unsigned/)
  const keysFile = join(dir, 'keys.json')
  writeFileSync(keysFile, JSON.stringify([(await h.app.inject({ url: '/v1/tenants/contoso/approver-keys' })).json()]))
  t.equal((await run([honest, '--approver-keys', keysFile])).code, 0, 'from a saved copy of the keys too')
  t.notMatch((await run([honest])).out, /proven/, 'without keys, approvals are not judged')

  // The insider: Approved without signatures, then with a copied one.
  const bare = await createRequest(h)
  await review(h, bare.id)
  await insiderApproves(h, bare.id)
  const copied = await createRequest(h)
  await review(h, copied.id)
  await insiderApproves(h, copied.id, approval)
  const junk = await createRequest(h)
  await review(h, junk.id)
  await insiderApproves(h, junk.id, 'signed, trust me')
  const forged = await createRequest(h)
  await review(h, forged.id)
  const forgedGrant = { ...approval.grant, requestId: forged.id, serviceRequestNumber: forged.serviceRequestNumber }
  await insiderApproves(h, forged.id, { grant: forgedGrant, proofs: approval.proofs.map((p: object) => ({ ...p, grant: forgedGrant })) })

  const tampered = join(dir, 'tampered.ndjson')
  await exportTo(h, tampered)
  res = await run([tampered, '--approver-keys', keysUrl, '--json'])
  t.equal(res.code, 1)
  const report = JSON.parse(res.out)
  t.equal(report.valid, false)
  t.match(report.problems, [
    new RegExp(`request ${bare.id} approved at seq \\d+ without approver signatures, while signed approvals were required`),
    new RegExp(`request ${copied.id} approved at seq \\d+: the signed grant's requestId is not the approved request's`),
    new RegExp(`request ${junk.id} approved at seq \\d+: its approval is not a signed approval`),
    new RegExp(`request ${forged.id} approved at seq \\d+: the signed challenge is not this grant`)
  ])
  t.equal(report.tenants[0].approvals.proven, 2)
})

// An insider writes Approved with the one signature of a quorum of two, the record naming no quorum
// or claiming one: either way it is held to the quorum the request was fixed to.
for (const [claims, problem] of [
  [{}, '1 approver signature\\(s\\), 2 required'],
  [{ approvals: 1, required: 1 }, 'its record names a quorum of 1, while the request was fixed to 2 as it reached the customer']
] as const) {
  t.test(`holds an approval to the quorum fixed as the request reached the customer: record ${JSON.stringify(claims)}`, async (t) => {
    const { h, dir, keysUrl } = await verifierSetup(t)
    const lee = await registerPasskey(h, 'contoso-approver')
    t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })).statusCode, 200)
    const req = await createRequest(h)
    await review(h, req.id)
    const first = await signedDecision(h, req.id, lee)
    t.equal(first.json().status, 'AwaitingCustomerApproval', 'one of the two approvals')
    await insiderApproves(h, req.id, first.json().approval, claims)

    const file = join(dir, 'export.ndjson')
    await exportTo(h, file)
    const res = await run([file, '--approver-keys', keysUrl, '--json'])
    t.equal(res.code, 1)
    t.match(JSON.parse(res.out).problems, [new RegExp(`request ${req.id} approved at seq \\d+: ${problem}`)])
  })
}

t.test('refuses approver keys it cannot read', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const exportFile = join(dir.path, 'export.ndjson')
  writeFileSync(exportFile, '')
  const bad = join(dir.path, 'bad.json')
  writeFileSync(bad, JSON.stringify({ keys: [] }))
  let res = await run([exportFile, '--approver-keys', bad])
  t.equal(res.code, 2)
  t.match(res.err, /not a published approver key set/)
  const h = await startTestApp()
  t.teardown(h.close)
  const port = await listen(h)
  res = await run([exportFile, '--approver-keys', `http://127.0.0.1:${port}/v1/tenants/nowhere/approver-keys`])
  t.equal(res.code, 2)
  t.match(res.err, /HTTP 404/)
})

/** What an insider appends: an extension "approved", with whatever details they like. */
async function insiderExtends (h: TestApp, id: string, operation: 'LockboxExtensionApproved' | 'LockboxExtensionManagerApproved', details: Record<string, unknown>): Promise<void> {
  await h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    audit: [{ tenantId: 'contoso', operation, result: 'Success', actor: { id: 'contoso-approver', type: 'CustomerApprover' }, clientIp: null, requestId: id, workload: 'exchange', object: '/', details }]
  })
}

t.test('proves each extension of a window, and names the ones nobody signed', async (t) => {
  const { h, dir, keysUrl } = await verifierSetup(t)
  const lee = await registerPasskey(h, 'contoso-approver')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)
  const req = await createRequest(h)
  await review(h, req.id)
  t.equal((await signedDecision(h, req.id, lee)).statusCode, 200)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/extend`, payload: { duration: 'PT1H', justification: 'Still looping' } })).statusCode, 200)
  await review(h, req.id)
  const extended = await signedDecision(h, req.id, lee)
  t.equal(extended.statusCode, 200)
  const honest = extended.json().approval.extensions[0]

  const file = join(dir, 'honest.ndjson')
  await exportTo(h, file)
  let res = await run([file, '--approver-keys', keysUrl])
  t.equal(res.code, 0, res.out)
  t.match(res.out, /contoso: 2 approvals, 2 proven by approver signatures, 0 unsigned \(not required then\); 1 of them extended a window/)

  const end = honest.grant.accessEndsAt as string
  const longer = { ...honest, grant: { ...honest.grant, duration: 'PT3H' } }
  await insiderExtends(h, req.id, 'LockboxExtensionApproved', { extension: { status: 'Approved', grantedDuration: 'PT3H', previousAccessEndsAt: end } })
  await insiderExtends(h, req.id, 'LockboxExtensionManagerApproved', { extension: { status: 'Approved', grantedDuration: 'PT3H', previousAccessEndsAt: end } })
  await insiderExtends(h, req.id, 'LockboxExtensionApproved', { extension: { status: 'Approved', grantedDuration: 'PT1H', previousAccessEndsAt: end }, approval: longer })
  await insiderExtends(h, req.id, 'LockboxExtensionApproved', { extension: { status: 'Approved', grantedDuration: 'PT3H', previousAccessEndsAt: end }, approval: longer })
  await insiderExtends(h, req.id, 'LockboxExtensionApproved', { approval: honest })
  const unproven = await createRequest(h)
  await review(h, unproven.id)
  await insiderApproves(h, unproven.id)
  await insiderExtends(h, unproven.id, 'LockboxExtensionApproved', { extension: { status: 'Approved', grantedDuration: 'PT1H', previousAccessEndsAt: end, required: 1 }, approval: honest })

  const tampered = join(dir, 'tampered.ndjson')
  await exportTo(h, tampered)
  res = await run([tampered, '--approver-keys', keysUrl, '--json'])
  t.equal(res.code, 1)
  const report = JSON.parse(res.out)
  t.match(report.problems, [
    new RegExp(`request ${req.id} extended at seq \\d+ without approver signatures, while signed approvals were required`),
    new RegExp(`request ${req.id} extended at seq \\d+ without approver signatures`),
    new RegExp(`request ${req.id} extended at seq \\d+: the signed extension is not the extension recorded`),
    new RegExp(`request ${req.id} extended at seq \\d+: contoso-approver signed a grant that does not cover the access granted`),
    new RegExp(`request ${req.id} extended at seq \\d+: the signed extension is not the extension recorded`),
    new RegExp(`request ${unproven.id} approved at seq \\d+ without approver signatures`),
    new RegExp(`request ${unproven.id} extended at seq \\d+: the approval it extends is not a proven approval in this export`)
  ])
  t.same(report.tenants[0].approvals, { approvals: 9, extensions: 7, proven: 2, unsigned: 0 })
})
