// Runs the real `lockbox` CLI against a gateway listening on port 0: as a child process, the way a
// user does (the child gets tap's loader flags from process.execArgv, so it runs the TypeScript
// source and its coverage is collected), or in-process on captured streams, which is the same
// program at a fraction of the cost of starting a TypeScript child.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { run } from '../../src/cli/program.js'
import { fileURLToPath } from 'node:url'
import type { TestApp } from '../helpers/app.js'
import { startTestApp } from '../helpers/app.js'
import { tempDir } from '../helpers/config.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  /** Written to the child's stdin, which is then closed. */
  input?: string
  /** The in-process CLI's clock (default: the real one); a child always runs on the real clock. */
  now?: () => number
}

/** The environment of a child: the caller's, without anything that would pick another gateway or profile. */
export function childEnv (extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['LOCKBOX_URL', 'LOCKBOX_PROFILE', 'LOCKBOX_CONFIG_DIR', 'XDG_CONFIG_HOME', 'NO_COLOR', 'FORCE_COLOR']) delete env[name]
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

export function spawnCli (args: string[], options: RunOptions = {}): ReturnType<typeof spawn> {
  return spawn(process.execPath, [...process.execArgv, CLI, ...args], {
    cwd: ROOT,
    env: childEnv(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe']
  })
}

/** Runs the CLI; without a LOCKBOX_CONFIG_DIR of the caller's, in a fresh one removed afterwards. */
export async function runCli (args: string[], options: RunOptions = {}): Promise<Run> {
  const own = options.env?.LOCKBOX_CONFIG_DIR === undefined ? tempDir('lockbox-cli-') : null
  try {
    return await runChild(spawnCli(args, { ...options, env: { LOCKBOX_CONFIG_DIR: own?.path, ...options.env } }), options.input)
  } finally {
    own?.remove()
  }
}

async function runChild (child: ReturnType<typeof spawn>, input: string | undefined): Promise<Run> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin?.end(input ?? '')
  return await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => { resolve({ code, signal, stdout, stderr }) })
  })
}

function capture (): PassThrough & { text: () => string } {
  const stream = new PassThrough()
  let text = ''
  stream.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  return Object.assign(stream, { text: () => text })
}

/** Runs the CLI in this process on captured streams; config dir as for runCli. */
export async function runInProcess (args: string[], options: RunOptions = {}): Promise<Run> {
  const own = options.env?.LOCKBOX_CONFIG_DIR === undefined ? tempDir('lockbox-cli-') : null
  const stdout = capture()
  const stderr = capture()
  const stdin = new PassThrough()
  stdin.end(options.input ?? '')
  try {
    const code = await run(['node', 'lockbox', ...args], { stdout, stderr, stdin, env: childEnv({ LOCKBOX_CONFIG_DIR: own?.path, ...options.env }), now: options.now })
    return { code, signal: null, stdout: stdout.text(), stderr: stderr.text() }
  } finally {
    own?.remove()
  }
}

/** A gateway on 127.0.0.1:0 with a fresh data dir, and a fresh config dir for the CLI's profiles. */
export interface CliHarness {
  h: TestApp
  url: string
  configDir: string
  /** The environment that points the CLI at this gateway and config dir. */
  env: Record<string, string>
  /** Runs `lockbox` in-process against this gateway with this config dir. */
  lockbox: (args: string[], options?: RunOptions) => Promise<Run>
  /** The same, as a child process. */
  child: (args: string[], options?: RunOptions) => Promise<Run>
  close: () => Promise<void>
}

export async function startCliHarness (): Promise<CliHarness> {
  const h = await startTestApp()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const address = h.app.server.address() as { port: number }
  const url = `http://127.0.0.1:${address.port}`
  const config = tempDir('lockbox-cli-')
  const env = { LOCKBOX_URL: url, LOCKBOX_CONFIG_DIR: config.path }
  return {
    h,
    url,
    configDir: config.path,
    env,
    // In process, the CLI runs on the app's clock.
    lockbox: async (args, options = {}) => await runInProcess(args, { now: h.app.now, ...options, env: { ...env, ...options.env } }),
    child: async (args, options = {}) => await runCli(args, { ...options, env: { ...env, ...options.env } }),
    async close () {
      await h.close()
      config.remove()
    }
  }
}

/** Writes a profile file as the CLI keeps it, for tests that start from a given state. */
export function writeProfile (configDir: string, name: string, profile: Record<string, unknown>): void {
  mkdirSync(configDir, { recursive: true, mode: 0o700 })
  writeFileSync(join(configDir, `${name}.json`), JSON.stringify({ accessTokens: {}, ...profile }), { mode: 0o600 })
}

export function readProfile (configDir: string, name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(configDir, `${name}.json`), 'utf8'))
}

/**
 * A real HTTP server on 127.0.0.1:0 that answers the way a broken or odd gateway would (a chain that
 * does not verify, a body cut short, no answer at all): states the real gateway never reaches.
 */
export async function startOddGateway (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** Resolves once `stream` has printed text matching `pattern` (a child announcing it is ready). */
export async function waitForOutput (stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return await new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer | string): void => {
      seen += String(chunk)
      if (pattern.test(seen)) {
        stream.off('data', onData)
        resolve(seen)
      }
    }
    stream.on('data', onData)
    stream.once('end', () => { reject(new Error(`ended before ${String(pattern)}: ${seen}`)) })
  })
}
