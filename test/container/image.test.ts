// The image's runtime stage, started as the image starts it: from a directory holding only what the
// Dockerfile's COPY lines bring (the build stage mirrored for real: build, then the production
// packages alone), with the stage's ENV and CMD. A file the image would lack fails here.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UNCOVERED } from '../helpers/compiled.js'
import { tempDir } from '../helpers/config.js'
import { freePort } from '../helpers/redis.js'
import { buildStage, bytesUnder, ROOT, runtimeStage, stages, type Mirrored, type Stage } from './image.js'

// npm run build (tsc) inside the mirrored build stage takes a while on a busy machine.
t.setTimeout(240_000)

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const dir = tempDir('lockbox-image-')
t.teardown(dir.remove)

let built: Promise<Record<string, Mirrored>> | null = null
/** The named stages the runtime stage copies from, mirrored once for this file. */
async function buildStages (all: Stage[]): Promise<Record<string, Mirrored>> {
  built ??= (async () => {
    const out: Record<string, Mirrored> = {}
    for (const stage of all.slice(0, -1)) {
      if (stage.name === null) continue
      mkdirSync(join(dir.path, stage.name))
      out[stage.name] = await buildStage(stage, join(dir.path, stage.name))
    }
    return out
  })()
  return await built
}

/** Assembles the runtime stage of `text` in a fresh directory and starts its CMD; resolves once it is ready or has exited. */
async function startRuntime (t: Test, text: string): Promise<{ app: string, base: string, exited: Promise<number | null>, output: () => string, stop: () => Promise<number | null> }> {
  const all = stages(text)
  const runtime = all.at(-1) as Stage
  const app = join(dir.path, `runtime-${Math.random().toString(36).slice(2)}`)
  const image = runtimeStage(runtime, await buildStages(all), app)
  t.teardown(() => { rmSync(app, { recursive: true, force: true }) })
  const port = await freePort()
  const [command, ...args] = image.cmd
  t.equal(command, 'node', 'the image runs node')
  // The stage's ENV, then what a container's runtime would differ in: a loopback port of our own and a
  // data dir standing for the volume. Nothing else of this process's environment reaches it.
  // Kept out of coverage: it runs the compiled files (test/helpers/compiled.ts).
  const env = { PATH: process.env.PATH, ...UNCOVERED, ...image.env, LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: String(port), LOCKBOX_DATA_DIR: join(app, 'data') }
  const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(() => { child.kill('SIGKILL') })
  const base = `http://127.0.0.1:${port}`
  while (child.exitCode === null) {
    if (await fetch(`${base}/readyz`).then((res) => res.status === 200, () => false)) break
    await Promise.race([sleep(100), exited])
  }
  return { app, base, exited, output: () => output, stop: async () => { child.kill('SIGTERM'); return await exited } }
}

t.test('the runtime stage alone starts the gateway and answers /readyz', async (t) => {
  const { app, base, output, stop } = await startRuntime(t, dockerfile)
  const ready = await fetch(`${base}/readyz`).catch(() => null)
  t.equal(ready?.status, 200, `ready:\n${output()}`)
  // Files the runtime reads beyond its code: the admin center's build, Swagger UI's assets (a
  // production package), the dev users of config/.
  t.equal((await fetch(`${base}/admin/`)).status, 200, 'the admin center is in dist/')
  t.equal((await fetch(`${base}/docs/static/index.html`)).status, 200, 'the API docs are served')
  const token = await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'eng-ada' }) })
  t.equal(token.status, 200, 'config/dev-users.json is there')
  t.equal(await stop(), 0, 'exits 0 on SIGTERM')
  // The README's budget for the image's own layers, on top of node:24-bookworm-slim.
  const megabytes = bytesUnder(app) / 1e6
  t.ok(megabytes <= 60, `the runtime stage's files are ${megabytes.toFixed(1)} MB (budget: 60 MB)`)
})

t.test('a file the Dockerfile no longer copies fails the check', async (t) => {
  const withoutConfig = dockerfile.replace(/^COPY config\/\*\.json .*$/m, '')
  t.not(withoutConfig, dockerfile, 'the runtime stage copies config/*.json')
  const { base, exited, output } = await startRuntime(t, withoutConfig)
  t.not(await exited, 0, 'it does not start')
  t.match(output(), /config\/tenants\.json/, 'and names the missing file')
  t.equal(await fetch(`${base}/readyz`).then((res) => res.status, () => 0), 0)
})
