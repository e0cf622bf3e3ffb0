// A full disk, for real: the data dir on a small tmpfs. Commits fail closed (StoreUnavailableError,
// ping false: the routes answer 503) and the store takes service back by itself once space returns.
// Needs to mount a tmpfs (root); skipped where that is not allowed.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditRecord } from '../../src/domain/audit.js'
import { StoreUnavailableError } from '../../src/errors.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { draft } from './contract-fixtures.js'

const mountPoint = await mkdtemp(join(tmpdir(), 'lockbox-full-disk-'))
let mounted = false
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint], { stdio: 'ignore' })
  mounted = true
} catch {}
t.teardown(async () => {
  if (mounted) execFileSync('umount', [mountPoint])
  await rm(mountPoint, { recursive: true, force: true })
})

t.test('fails closed on a full disk and resumes by itself when space returns', { skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' }, async (t) => {
  const dataDir = join(mountPoint, 'data')
  const stores = await openEmbeddedStores({ dataDir })
  t.teardown(() => stores.close())
  const acknowledged: AuditRecord[] = []
  const commit = async (): Promise<void> => {
    acknowledged.push(...await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { path: '/sites/finance/'.padEnd(2000, 'x') } })] }))
  }
  await commit()
  // Ballast takes what is left, then commits go on until the database cannot grow.
  const ballast = join(mountPoint, 'ballast')
  await writeFile(ballast, Buffer.alloc(1 << 20)).catch(() => {})
  for (let index = 0; index < 1000; index++) await writeFile(join(mountPoint, `ballast-${index}`), Buffer.alloc(64 << 10)).catch(() => { index = 1000 })
  let refused: unknown = null
  for (let index = 0; index < 20000 && refused === null; index++) await commit().catch((error: unknown) => { refused = error })
  t.type(refused, StoreUnavailableError, 'a commit the disk cannot hold is refused as the store being unavailable')
  t.match((refused as Error).message, /could not commit/)
  t.equal(await stores.ping(), false, 'not ready while the disk is full')
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }), StoreUnavailableError, 'and still refused')
  await t.rejects(stores.lockbox.nextServiceRequestNumber('contoso'), StoreUnavailableError, 'numbering needs a write too')

  execFileSync('sh', ['-c', `rm -f ${mountPoint}/ballast*`])
  t.equal(await stores.ping(), true, 'ready again once space returns, without a restart')
  await commit()
  t.match(await stores.audit.verify('contoso'), { valid: true, records: acknowledged.length, headSeq: acknowledged.length }, 'every acknowledged record, in one valid chain')
})
