// Creates a secret file exactly once, even when several processes start together on one data dir.
import { randomUUID } from 'node:crypto'
import { link, mkdir, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Writes `content` (mode 0600) beside `file`, then hard-links it into place. The link is atomic and
 * fails if the file exists, so racing processes agree on one winner's content and nobody ever reads
 * a half-written file. Resolves true if this call created the file.
 */
export async function createFileOnce (file: string, content: string): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true })
  const scratch = `${file}.${process.pid}.${randomUUID()}.tmp`
  await writeFile(scratch, content, { mode: 0o600, flag: 'wx' })
  let created = true
  try {
    await link(scratch, file)
  } catch (err) {
    // EEXIST: another process won the race, and its file is the one everybody uses.
    /* c8 ignore start -- a hard link beside a file we just wrote fails for no other reason in practice */
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      await unlink(scratch)
      throw err
    }
    /* c8 ignore stop */
    created = false
  }
  await unlink(scratch)
  return created
}
