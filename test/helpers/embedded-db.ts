// Edits the embedded store's LMDB environment behind the store's back: what tamper and failure tests
// start from. editRecords needs the store closed.
import { open, type Key } from 'lmdb'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { AuditRecord } from '../../src/domain/audit.js'
import { DATABASE_FILE } from '../../src/stores/embedded/index.js'

const run = promisify(execFile)
/** The repository, where the child finds the lmdb package. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A tenant's record where it is stored; an edit may change it, swap it with another, or set it to null to delete it. */
export interface Slot { position: number, record: AuditRecord | null }

export async function editRecords (dataDir: string, tenantId: string, edit: (slots: Slot[]) => void): Promise<void> {
  const env = open({ path: join(dataDir, DATABASE_FILE) })
  try {
    const audit = env.openDB<string, number>({ name: 'audit', encoding: 'string', keyEncoding: 'uint32' })
    const ofTenant = env.openDB<string, Key>({ name: 'auditOfTenant', encoding: 'string' })
    const slots: Slot[] = []
    for (const key of ofTenant.getKeys({ start: [tenantId], end: [tenantId, Number.MAX_SAFE_INTEGER] })) {
      const position = (key as [string, number])[1]
      slots.push({ position, record: JSON.parse(audit.get(position) as string) as AuditRecord })
    }
    edit(slots)
    await env.transaction(() => {
      for (const { position, record } of slots) {
        if (record !== null) {
          audit.put(position, JSON.stringify(record))
          continue
        }
        audit.remove(position)
        ofTenant.remove([tenantId, position])
      }
    })
  } finally {
    await env.close()
  }
}

/** What overwriteRecord runs in a process of its own: LMDB must not be opened twice in one process while in use. */
const OVERWRITE = `
import { open } from 'lmdb'
const [path, position, text] = process.argv.slice(1)
const env = open({ path })
const audit = env.openDB({ name: 'audit', encoding: 'string', keyEncoding: 'uint32' })
process.stdout.write(audit.get(Number(position)))
await audit.put(Number(position), text)
await env.close()
`

/**
 * Overwrites the stored text of the record at `position`, from another process (the store may be
 * open in this one); resolves with what was there.
 */
export async function overwriteRecord (dataDir: string, position: number, text: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', OVERWRITE, join(dataDir, DATABASE_FILE), String(position), text], { cwd: ROOT })
  return stdout
}
