// The Docker image as far as this machine can build it without a Docker engine: the Dockerfile read
// with a real Dockerfile parser (dockerfile-ast, the one dockerfile-utils lints with), its build
// stage mirrored in a temp dir, and its runtime stage assembled from exactly the files its COPY lines
// name. Whatever the image would lack, the directory lacks too.
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync } from 'node:fs'
import { basename, dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DockerfileParser, type Instruction } from 'dockerfile-ast'
import { UNCOVERED } from '../helpers/compiled.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
/** The build context: the repository (.dockerignore leaves out nothing the COPY lines name). */
const CONTEXT = { dir: ROOT, workdir: '/' }

/** `path` (absolute, in a stage) relative to the stage's WORKDIR, which its mirror's dir stands for. */
function inside (workdir: string, path: string): string {
  const relative = posix.relative(workdir, path)
  if (relative.startsWith('..')) throw new Error(`${path} is outside the WORKDIR ${workdir} this mirror stands for`)
  return relative
}

export interface Stage {
  name: string | null
  instructions: Instruction[]
}

/** The Dockerfile's stages, each with the instructions that follow its FROM. */
export function stages (text: string): Stage[] {
  const found: Stage[] = []
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue())
      found.push({ name: args[1]?.toUpperCase() === 'AS' ? args[2] ?? null : null, instructions: [] })
    } else {
      const stage = found.at(-1)
      if (stage === undefined) throw new Error(`${instruction.getKeyword()} before any FROM`)
      stage.instructions.push(instruction)
    }
  }
  return found
}

const words = (instruction: Instruction): string[] => instruction.getArguments().map((a) => a.getValue())
const fromFlag = (instruction: Instruction): string | null =>
  (instruction as Instruction & { getFlags?: () => Array<{ getName: () => string, getValue: () => string | null }> })
    .getFlags?.().find((flag) => flag.getName() === 'from')?.getValue() ?? null

/** A stage mirrored in `dir`, which stands for its WORKDIR. */
export interface Mirrored { dir: string, workdir: string }

/**
 * COPY `sources… dest` into `into.dir`; sources read from `from` (the build context, or another
 * stage, where an absolute source is taken relative to that stage's WORKDIR); `*` in a last segment.
 */
function copy (instruction: Instruction, from: Mirrored, into: Mirrored): void {
  const args = words(instruction)
  const dest = args.pop() as string
  const target = join(into.dir, inside(into.workdir, posix.resolve(into.workdir, dest)))
  const matched = args.flatMap((source) => {
    const path = join(from.dir, source.startsWith('/') ? inside(from.workdir, source) : source)
    if (!basename(path).includes('*')) return [path]
    const pattern = new RegExp(`^${basename(path).split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
    return readdirSync(dirname(path)).filter((name) => pattern.test(name)).map((name) => join(dirname(path), name))
  })
  if (matched.length === 0) throw new Error(`COPY ${args.join(' ')}: nothing matches`)
  for (const source of matched) {
    if (!existsSync(source)) throw new Error(`COPY ${args.join(' ')}: ${source} does not exist`)
    // As Docker does: a directory's contents go into the destination; a file goes into it when there
    // are several sources or it ends in /, else becomes it.
    const into = !statSync(source).isDirectory() && (matched.length > 1 || dest.endsWith('/'))
    mkdirSync(into ? target : dirname(target), { recursive: true })
    // The pruned packages of a mirrored stage are linked, not copied a second time: Node resolves a
    // package from its real path, inside that stage's node_modules, which holds exactly what the
    // stage would hand over (and the directory above it nothing of the repository's).
    if (from !== CONTEXT && basename(source) === 'node_modules' && !into) symlinkSync(source, target)
    else cpSync(source, into ? join(target, basename(source)) : target, { recursive: true })
  }
}

/** The RUN lines the mirror below stands for; a Dockerfile that changes them must change the mirror. */
export const BUILD_RUNS = ['npm ci --no-audit --no-fund', 'npm run build && npm prune --omit=dev']

/**
 * The build stage in `dir`: its COPY lines from the repository, `npm ci` as a link to the
 * repository's node_modules (installed by `npm ci` from the same lock file), `npm run build` run
 * for real, and `npm prune --omit=dev` as a copy of the packages package-lock.json does not mark dev.
 */
export async function buildStage (stage: Stage, dir: string): Promise<Mirrored> {
  const runs = stage.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => words(i).join(' '))
  if (runs.join('\n') !== BUILD_RUNS.join('\n')) throw new Error(`the build stage runs ${JSON.stringify(runs)}; test/container/image.ts mirrors ${JSON.stringify(BUILD_RUNS)}`)
  let workdir = '/'
  for (const instruction of stage.instructions) {
    const keyword = instruction.getKeyword()
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, words(instruction)[0] as string)
    else if (keyword === 'COPY') copy(instruction, CONTEXT, { dir, workdir })
    else if (keyword === 'RUN' && words(instruction)[1] === 'ci') symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  }
  await run('npm', ['run', 'build', '--silent'], { cwd: dir, env: { PATH: process.env.PATH, ...UNCOVERED } })
  unlinkSync(join(dir, 'node_modules'))
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level packages only: a package's own nested node_modules come with it.
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || entry.dev === true) continue
    // Optional packages for other platforms are in the lock file but not installed.
    if (existsSync(join(ROOT, path))) cpSync(join(ROOT, path), join(dir, path), { recursive: true })
  }
  return { dir, workdir }
}

/** The runtime stage in `dir`: only what its COPY lines bring, from the build stage or the repository. */
export function runtimeStage (stage: Stage, built: Record<string, Mirrored>, dir: string): { env: Record<string, string>, cmd: string[], workdir: string } {
  let workdir = '/'
  const env: Record<string, string> = {}
  let cmd: string[] = []
  for (const instruction of stage.instructions) {
    const keyword = instruction.getKeyword()
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, words(instruction)[0] as string)
    else if (keyword === 'ENV') {
      for (const pair of words(instruction)) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1)
    } else if (keyword === 'COPY') {
      const from = fromFlag(instruction)
      if (from !== null && built[from] === undefined) throw new Error(`COPY --from=${from}: no such stage mirrored`)
      copy(instruction, from === null ? CONTEXT : built[from] as Mirrored, { dir, workdir })
    } else if (keyword === 'CMD') cmd = JSON.parse(instruction.getArgumentsContent() ?? '[]') as string[]
  }
  return { env, cmd, workdir }
}

/** Bytes of the files under `dir` (links followed), as the image's layers would hold them. */
export function bytesUnder (dir: string): number {
  let total = 0
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const stat = statSync(path)
    total += stat.isDirectory() ? bytesUnder(path) : stat.size
  }
  return total
}
