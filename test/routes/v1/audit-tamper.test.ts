// Tampering with the embedded store's journal behind the gateway's back: every kind of edit is found,
// by /v1/audit/verify or, for a cut tail (a valid shorter chain), by the offline verifier and a
// checkpoint taken before the cut.
import t from 'tap'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hashRecord, type AuditRecord } from '../../../src/domain/audit.js'
import { verifyExport } from '../../../src/audit/verify-export.js'
import { JOURNAL_FILE } from '../../../src/stores/embedded/index.js'
import { main as auditVerify } from '../../../src/tools/audit-verify.js'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { linesOf } from '../../helpers/audit-records.js'
import { tempDir } from '../../helpers/config.js'
import { approvedRequest, createRequest, review } from '../../helpers/workflow.js'
import type { Test } from '../../stores/contract-fixtures.js'

interface Line { audit?: AuditRecord[], [field: string]: unknown }

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

/** Rewrites the journal, letting `edit` change the contoso records in place inside their lines. */
async function tamper (dataDir: string, edit: (records: AuditRecord[], lines: Line[]) => void): Promise<void> {
  const path = join(dataDir, JOURNAL_FILE)
  const lines = (await readFile(path, 'utf8')).split('\n').filter((text) => text !== '').map((text) => JSON.parse(text) as Line)
  const records = lines.flatMap((line) => line.audit ?? []).filter((record) => record.tenantId === 'contoso')
  edit(records, lines)
  await writeFile(path, lines.map((line) => JSON.stringify(line) + '\n').join(''))
}

/** Takes a record out of the line that holds it: the line still replays. */
function remove (lines: Line[], record: AuditRecord): void {
  const line = lines.find((candidate) => candidate.audit?.includes(record) === true) as Line
  line.audit = (line.audit as AuditRecord[]).filter((other) => other !== record)
}

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

const cases: Array<{ title: string, seq: number, edit: (records: AuditRecord[], lines: Line[]) => void }> = [
  {
    title: 'finds a record whose field was changed',
    seq: 3,
    edit: (records) => { (records[2] as AuditRecord).actor.id = 'someone-else' }
  },
  // The edits below hit the rejected request's records: an edit of the approved one's own records
  // leaves its Approved state unbacked by the chain, and the gateway then refuses to start
  // (test/routes/v1/audit-invariant.test.ts).
  {
    title: 'finds a record that was deleted',
    seq: 5,
    edit: (records, lines) => { remove(lines, records[4] as AuditRecord) }
  },
  {
    title: 'finds two records that were swapped',
    seq: 2,
    edit: (records, lines) => {
      const [first, second] = [records[1] as AuditRecord, records[2] as AuditRecord]
      const holderOf = (record: AuditRecord): AuditRecord[] => lines.find((line) => line.audit?.includes(record) === true)?.audit as AuditRecord[]
      const [firstHolder, secondHolder] = [holderOf(first), holderOf(second)]
      firstHolder[firstHolder.indexOf(first)] = second
      secondHolder[secondHolder.indexOf(second)] = first
    }
  },
  {
    title: 'finds an edit whose hash and next link were forged to match, at the next record',
    seq: 6,
    edit: (records) => {
      const { hash, ...forged } = { ...records[4] as AuditRecord, details: { forged: true } }
      Object.assign(records[4] as AuditRecord, { details: forged.details, hash: hashRecord(forged) })
      ;(records[5] as AuditRecord).prevHash = (records[4] as AuditRecord).hash
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

  await tamper(dataDir, (records, lines) => {
    for (const record of records.slice(-2)) remove(lines, record)
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
