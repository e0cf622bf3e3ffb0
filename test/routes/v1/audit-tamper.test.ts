// Tampering with the embedded store's database behind the gateway's back: every kind of edit is found,
// by /v1/audit/verify or, for a cut tail (a valid shorter chain), by the offline verifier and a
// checkpoint taken before the cut.
import t from 'tap'
import { cp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hashRecord, type AuditRecord } from '../../../src/domain/audit.js'
import { verifyExport } from '../../../src/audit/verify-export.js'
import { main as auditVerify } from '../../../src/tools/audit-verify.js'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { linesOf } from '../../helpers/audit-records.js'
import { editRecords, type Slot } from '../../helpers/embedded-db.js'
import { tempDir } from '../../helpers/config.js'
import { approvedRequest, createRequest, review } from '../../helpers/workflow.js'
import type { Test } from '../../stores/contract-fixtures.js'

const root = tempDir('lockbox-tamper-')
t.teardown(root.remove)

// One small workflow, run once; every case tampers with its own copy of the data dir.
const original = join(root.path, 'original')
{
  const h = await startTestApp({ dataDir: original })
  await approvedRequest(h)
  await review(h, (await createRequest(h)).id, 'Reject')
  await h.close()
}

let copies = 0
async function copyOfData (): Promise<string> {
  const dataDir = join(root.path, `case-${++copies}`)
  await cp(original, dataDir, { recursive: true })
  return dataDir
}

/** Edits the contoso records in place in the database (the store closed). */
async function tamper (dataDir: string, edit: (slots: Slot[]) => void): Promise<void> {
  await editRecords(dataDir, 'contoso', edit)
}

const record = (slots: Slot[], index: number): AuditRecord => (slots[index] as Slot).record as AuditRecord

async function get (h: TestApp, url: string): Promise<{ body: string, json: () => any }> {
  const res = await h.as('sec-erin', { url })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res
}

const verifyOf = async (h: TestApp): Promise<Record<string, unknown>> => (await get(h, '/v1/audit/verify?tenantId=contoso')).json()
const exportOf = async (h: TestApp): Promise<string> => (await get(h, '/v1/audit/export?tenantId=contoso')).body

async function reopen (t: Test, dataDir: string): Promise<TestApp> {
  const h = await startTestApp({ dataDir })
  t.teardown(h.close)
  return h
}

t.test('reports the untouched log as valid', async (t) => {
  const h = await reopen(t, await copyOfData())
  const verify = await verifyOf(h)
  t.match(verify, { valid: true, firstInvalidSeq: null })
  t.ok((verify.records as number) >= 6, `${verify.records as number} records`)
})

const cases: Array<{ title: string, seq: number, edit: (slots: Slot[]) => void }> = [
  {
    title: 'finds a record whose field was changed',
    seq: 3,
    edit: (slots) => { record(slots, 2).actor.id = 'someone-else' }
  },
  // The edits below hit the rejected request's records: an edit of the approved one's own records
  // leaves its Approved state unbacked by the chain, and the gateway then refuses to start
  // (test/routes/v1/audit-invariant.test.ts).
  {
    title: 'finds a record that was deleted',
    seq: 5,
    edit: (slots) => { (slots[4] as Slot).record = null }
  },
  {
    title: 'finds two records that were swapped',
    seq: 2,
    edit: (slots) => {
      const [first, second] = [record(slots, 1), record(slots, 2)]
      ;(slots[1] as Slot).record = second
      ;(slots[2] as Slot).record = first
    }
  },
  {
    title: 'finds an edit whose hash and next link were forged to match, at the next record',
    seq: 6,
    edit: (slots) => {
      const { hash, ...forged } = { ...record(slots, 4), details: { forged: true } }
      Object.assign(record(slots, 4), { details: forged.details, hash: hashRecord(forged) })
      record(slots, 5).prevHash = record(slots, 4).hash
    }
  }
]

for (const { title, seq, edit } of cases) {
  t.test(title, async (t) => {
    const dataDir = await copyOfData()
    await tamper(dataDir, edit)
    const h = await reopen(t, dataDir)
    t.match(await verifyOf(h), { tenantId: 'contoso', valid: false, firstInvalidSeq: seq })
    const offline = await verifyExport(linesOf((await exportOf(h)).split('\n')))
    t.equal(offline.valid, false, 'the offline verifier finds it in an export too')
    t.match(offline.problems, [`tenant contoso: chain broken at seq ${seq}`])
  })
}

t.test('finds a cut tail with the offline verifier and a checkpoint taken before the cut', async (t) => {
  const dataDir = await copyOfData()
  const files = tempDir('lockbox-tamper-files-')
  t.teardown(files.remove)
  const path = (name: string): string => join(files.path, name)
  let h = await startTestApp({ dataDir })
  const checkpoint = await h.as('contoso-approver', { url: '/v1/audit/checkpoint?tenantId=contoso' })
  t.equal(checkpoint.statusCode, 200)
  await writeFile(path('checkpoint.jws'), checkpoint.body)
  await writeFile(path('jwks.json'), (await h.app.inject({ url: '/.well-known/jwks.json' })).body)
  await writeFile(path('before.ndjson'), await exportOf(h))
  const headSeq = (await verifyOf(h)).headSeq as number
  await h.close()

  await tamper(dataDir, (slots) => {
    for (const slot of slots.slice(-2)) slot.record = null
  })
  h = await reopen(t, dataDir)
  t.match(await verifyOf(h), { valid: true, headSeq: headSeq - 2 }, 'a shorter chain is still a valid chain…')
  await writeFile(path('after.ndjson'), await exportOf(h))

  const run = async (file: string): Promise<{ code: number, out: string }> => {
    let out = ''
    const code = await auditVerify([path(file), '--checkpoint', path('checkpoint.jws'), '--jwks', path('jwks.json')], { out: (text) => { out += text }, err: (text) => { out += text } })
    return { code, out }
  }
  t.match(await run('before.ndjson'), { code: 0, out: new RegExp(`checkpoint contoso@${headSeq} reached`) })
  const after = await run('after.ndjson')
  t.equal(after.code, 1, '…but not against the checkpoint')
  t.match(after.out, `the export ends at seq ${headSeq - 2} but the checkpoint covers seq ${headSeq}: records were cut from the end`)
})
