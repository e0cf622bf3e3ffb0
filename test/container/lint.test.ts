// The Dockerfile and the compose file, checked by linters from the npm registry: dockerfile-utils
// (the validator behind the Dockerfile language server) and dclint (Docker Compose files against the
// compose-spec JSON schema, plus its best-practice rules). Both are shown to catch a broken file.
import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from '../helpers/config.js'
import { ROOT } from './image.js'

const run = promisify(execFile)
const DOCKERFILE_UTILS = join(ROOT, 'node_modules/dockerfile-utils/bin/dockerfile-utils')
const DCLINT = join(ROOT, 'node_modules/dclint/bin/dclint.cjs')
// Ordering rules only: this file is ordered as its story goes (Redis, the gateways, the balancer).
const COMPOSE_STYLE_RULES = ['service-keys-order', 'services-alphabetical-order', 'top-level-properties-order']

async function lint (cli: string, args: string[]): Promise<{ code: number, output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1' } })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const failed = err as { code: number, stdout: string, stderr: string }
    return { code: failed.code, output: failed.stdout + failed.stderr }
  }
}

const dockerfile = async (path: string): Promise<{ code: number, output: string }> => await lint(DOCKERFILE_UTILS, ['lint', path])
const compose = async (path: string): Promise<{ code: number, output: string }> =>
  await lint(DCLINT, [path, '--max-warnings', '0', '--color', 'false', ...COMPOSE_STYLE_RULES.flatMap((rule) => ['--disable-rule', rule])])

t.test('the Dockerfile passes dockerfile-utils lint', async (t) => {
  t.same(await dockerfile('Dockerfile'), { code: 0, output: '' })
})

t.test('docker-compose.yml passes dclint, schema and rules, with no warning', async (t) => {
  const result = await compose('docker-compose.yml')
  t.equal(result.code, 0, result.output)
})

t.test('both linters fail a broken file', async (t) => {
  const dir = tempDir('lockbox-lint-')
  t.teardown(dir.remove)
  writeFileSync(join(dir.path, 'Dockerfile'), 'FROM node:24-bookworm-slim\nCOPY dist\nEXPOSE http\n')
  const badDockerfile = await dockerfile(join(dir.path, 'Dockerfile'))
  t.equal(badDockerfile.code, 1)
  t.match(badDockerfile.output, 'COPY requires at least two arguments')
  writeFileSync(join(dir.path, 'compose.yml'), 'services:\n  gateway:\n    build: .\n    replica: 2\n')
  const badCompose = await compose(join(dir.path, 'compose.yml'))
  t.equal(badCompose.code, 1)
  t.match(badCompose.output, 'must NOT have additional properties')
})
