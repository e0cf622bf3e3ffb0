// First start on a data dir written by the journal store this one replaced: test/fixtures/journal-v1
// was made by that store (see make-journal-v1.ts), and read back by it into expected.json.
import t from 'tap'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AuditRecord } from '../../src/domain/audit.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { JOURNAL_FILE, MIGRATED_SUFFIX, type MigrationLog } from '../../src/stores/embedded/migrate.js'
import { readBack } from '../fixtures/make-journal-v1.js'
import { draft, T0 } from './contract-fixtures.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/journal-v1', import.meta.url))
const root = await mkdtemp(join(tmpdir(), 'lockbox-migration-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
let dirs = 0

async function copyOfFixture (): Promise<string> {
  const dataDir = join(root, `store-${++dirs}`)
  await cp(FIXTURE, dataDir, { recursive: true })
  return dataDir
}

function capture (): { lines: Array<{ level: string, fields: Record<string, unknown>, message: string }>, log: MigrationLog } {
  const lines: Array<{ level: string, fields: Record<string, unknown>, message: string }> = []
  return {
    lines,
    log: {
      info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
      warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message })
    }
  }
}

t.test('migrates a journal to the same state, chains verified, and keeps the journal aside', async (t) => {
  const dataDir = await copyOfFixture()
  const expected = JSON.parse(await readFile(join(dataDir, 'expected.json'), 'utf8')) as { chains: object[], heads: Array<{ seq: number, hash: string }> }
  // The journal store's verify predates the enforcement invariant's fields; a clean chain has none.
  expected.chains = expected.chains.map((chain) => ({ ...chain, invariantViolations: [], invariantViolationCount: 0 }))
  const { lines, log } = capture()
  let stores = await openEmbeddedStores({ dataDir, log, now: () => T0 + 30 * 60_000, migrationProgressEvery: 5 })
  t.same(await readBack(stores), expected, 'reads back what the journal store read back')
  t.match(lines, [
    { level: 'info', message: /^migrating the embedded store/ },
    { level: 'info', fields: { records: 13 }, message: 'migrating the embedded store: records copied' },
    { level: 'info', fields: { records: 13, tenants: 2 }, message: /every chain reads the same as in the journal/ }
  ])
  t.notOk(existsSync(join(dataDir, JOURNAL_FILE)))
  t.ok(existsSync(join(dataDir, JOURNAL_FILE + MIGRATED_SUFFIX)), 'the journal is kept, renamed')
  const [next] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }) as [AuditRecord]
  const contoso = expected.heads[0] as { seq: number, hash: string }
  t.match(next, { seq: contoso.seq + 1, prevHash: contoso.hash }, 'the chain goes on from where the journal left it')
  t.ok(Number(await stores.lockbox.nextServiceRequestNumber('contoso')) > 100007, 'numbering goes on past every migrated number')
  await stores.close()

  const again = capture()
  stores = await openEmbeddedStores({ dataDir, log: again.log })
  t.teardown(() => stores.close())
  t.same(again.lines, [], 'a second start migrates nothing')
  t.match(await stores.audit.verify('contoso'), { valid: true, headSeq: contoso.seq + 1 })
})

t.test('migrates a tampered journal as it is, warning, so that verify still finds the tampering', async (t) => {
  const dataDir = await copyOfFixture()
  const journal = join(dataDir, JOURNAL_FILE)
  const text = await readFile(journal, 'utf8')
  await writeFile(journal, text.replace('"result":"Success"', '"result":"Failure"'))
  const { lines, log } = capture()
  const stores = await openEmbeddedStores({ dataDir, log })
  t.teardown(() => stores.close())
  t.match(lines.filter((line) => line.level === 'warn'), [{ fields: { tenantId: 'contoso', firstInvalidSeq: 7 }, message: /already broken in the journal/ }])
  t.match(await stores.audit.verify('contoso'), { valid: false, firstInvalidSeq: 7 })
})

t.test('starts a migration again from nothing when the last one did not finish', async (t) => {
  const dataDir = await copyOfFixture()
  const journal = join(dataDir, JOURNAL_FILE)
  const text = await readFile(journal, 'utf8')
  const lines = text.split('\n')
  // Damage in the middle: the migration stops there and the store does not start.
  for (const damage of ['{garbage', '[1,2]']) {
    await writeFile(journal, [...lines.slice(0, 4), damage, ...lines.slice(4)].join('\n'))
    await t.rejects(openEmbeddedStores({ dataDir }), { message: /line 5 is damaged/ })
  }
  await writeFile(journal, [...lines.slice(0, 4), '{"tenantId":"contoso","audit":[null]}', ...lines.slice(4)].join('\n'))
  await t.rejects(openEmbeddedStores({ dataDir }), { message: /line 5 cannot be replayed/ })
  t.ok(existsSync(journal), 'the journal is left where it was')
  await writeFile(journal, text)
  const stores = await openEmbeddedStores({ dataDir })
  t.teardown(() => stores.close())
  const expected = JSON.parse(await readFile(join(dataDir, 'expected.json'), 'utf8')) as { audit: unknown[] }
  t.same((await stores.audit.query({ limit: 100 })).items, expected.audit, 'nothing twice')
})

t.test('migrates a long journal never compacted (no snapshot line) in several transactions', async (t) => {
  // A tenant's chain, sealed by a store (one commit, so every record has the same time), then written
  // one record per line as the journal store did: more lines than one migration transaction takes.
  const source = await openEmbeddedStores({ dataDir: join(root, `source-${++dirs}`), now: () => T0 + 40 * 60_000 })
  await source.lockbox.commit({ tenantId: 'northwind', audit: Array.from({ length: 2100 }, (_, index) => draft('ContentAccessed', { tenantId: 'northwind', details: { index } })) })
  const sealed: AuditRecord[] = []
  for await (const record of source.audit.export({ tenantId: 'northwind' })) sealed.push(record)
  const chain = await source.audit.verify('northwind')
  await source.close()
  const settings = { tenantId: 'northwind', lockboxEnabled: true, approverEmails: ['it@northwind.example'], version: 1 }
  const dataDir = join(root, `store-${++dirs}`)
  await mkdir(dataDir)
  await writeFile(join(dataDir, JOURNAL_FILE), [
    JSON.stringify({ tenantId: 'northwind', tenantSettings: settings, audit: [] }),
    ...sealed.map((record) => JSON.stringify({ tenantId: 'northwind', audit: [record] }))
  ].join('\n') + '\n')

  const { lines, log } = capture()
  // A clock behind the journal's last record: the migrated store must not stamp below it.
  const stores = await openEmbeddedStores({ dataDir, log, now: () => T0 })
  t.teardown(() => stores.close())
  t.match(lines.at(-1), { level: 'info', fields: { records: 2100, tenants: 1 } })
  t.same(await stores.audit.verify('northwind'), chain, 'the chain reads as it did in the store that sealed it')
  t.match(await stores.lockbox.getTenantSettings('northwind'), settings)
  const [next] = await stores.lockbox.commit({ tenantId: 'northwind', audit: [draft('ContentAccessed', { tenantId: 'northwind' })] }) as [AuditRecord]
  t.match(next, { seq: 2101, time: (sealed.at(-1) as AuditRecord).time }, 'the chain goes on, its times never going back')
})

t.test('refuses to start on a journal damaged before its last line, keeping it, and migrates it once repaired', async (t) => {
  const dataDir = await copyOfFixture()
  const journal = join(dataDir, JOURNAL_FILE)
  const whole = await readFile(journal, 'utf8')
  const lines = whole.split('\n')
  await writeFile(journal, [lines[0], '{"damaged', ...lines.slice(1)].join('\n'))
  await t.rejects(openEmbeddedStores({ dataDir, log: capture().log }), /line 2 is damaged and is not the last line; refusing to start/)
  t.ok(existsSync(journal), 'the journal stays where it was')

  await writeFile(journal, whole)
  const stores = await openEmbeddedStores({ dataDir, log: capture().log })
  t.teardown(() => stores.close())
  t.match(await stores.audit.verify('contoso'), { valid: true })
})
