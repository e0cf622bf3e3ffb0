// Builds the admin center into dist/admin: admin/src compiled with tsconfig.admin.json, admin/public copied.
// Everything is written to a scratch folder first and renamed into place file by file, so a server
// reading dist/admin, or another build running at the same time (parallel test files), never sees
// half a file.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const dist = join(repo, 'dist')
const out = join(dist, 'admin')
mkdirSync(dist, { recursive: true })
const scratch = mkdtempSync(join(dist, '.admin-'))
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.admin.json'), '--outDir', scratch], { stdio: ['ignore', 'inherit', 'inherit'] })
  cpSync(join(repo, 'admin', 'public'), scratch, { recursive: true })
  for (const file of readdirSync(scratch, { recursive: true })) {
    const from = join(scratch, file)
    if (statSync(from).isDirectory()) continue
    mkdirSync(dirname(join(out, file)), { recursive: true })
    renameSync(from, join(out, file))
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
