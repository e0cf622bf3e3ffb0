// Builds the admin center into dist/admin: admin/src compiled with tsconfig.admin.json, admin/public copied.
// Everything is written to a scratch folder first and renamed into place file by file, so a server
// reading dist/admin, or another build running at the same time (parallel test files), never sees
// half a file. With --if-changed it does nothing when dist/admin was last built from the same sources
// (the browser tests, after `npm test` has just built it).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const dist = join(repo, 'dist')
const out = join(dist, 'admin')
// Outside dist/admin, which is served.
const stamp = join(dist, '.admin-sources')
const digest = sourcesDigest()
if (process.argv.includes('--if-changed') && existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) process.exit(0)
mkdirSync(dist, { recursive: true })
const scratch = mkdtempSync(join(dist, '.admin-'))
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  // The program reaches into src/ for the API's types (type-only: erased from the output), so the
  // compiler's root is the repository's; only what admin/src compiles to is served.
  const compiled = join(scratch, 'compiled')
  execFileSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.admin.json'), '--outDir', compiled], { stdio: ['ignore', 'inherit', 'inherit'] })
  const assets = join(scratch, 'assets')
  cpSync(join(compiled, 'admin', 'src'), assets, { recursive: true })
  cpSync(join(repo, 'admin', 'public'), assets, { recursive: true })
  for (const file of readdirSync(assets, { recursive: true })) {
    const from = join(assets, file)
    if (statSync(from).isDirectory()) continue
    mkdirSync(dirname(join(out, file)), { recursive: true })
    renameSync(from, join(out, file))
  }
  writeFileSync(join(scratch, '.admin-sources'), digest)
  renameSync(join(scratch, '.admin-sources'), stamp)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}

/** What the assets are made from: this script, the compiler's version and options, every source file. */
function sourcesDigest () {
  const hash = createHash('sha256')
  const files = [fileURLToPath(import.meta.url), join(repo, 'tsconfig.admin.json'), createRequire(import.meta.url).resolve('typescript/package.json')]
  for (const dir of ['src', 'public']) {
    for (const file of readdirSync(join(repo, 'admin', dir), { recursive: true }).sort()) files.push(join(repo, 'admin', dir, file))
  }
  for (const file of files) {
    if (statSync(file).isDirectory()) continue
    hash.update(`${file.slice(repo.length)}\0`).update(readFileSync(file)).update('\0')
  }
  return hash.digest('hex')
}
