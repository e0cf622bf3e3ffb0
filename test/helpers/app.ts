// Builds the whole app on a fresh data dir with a clock the test moves, and speaks to it with dev tokens.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type AppOverrides } from '../../src/app.js'
import type { Config } from '../../config/schema.js'
import { tempDir, testConfig } from './config.js'

export interface TestApp {
  app: FastifyInstance
  config: Config
  dataDir: string
  /** The app's clock; `advance` moves it. */
  now: () => number
  advance: (ms: number) => void
  token: (user: string) => Promise<string>
  /** inject with a dev identity token for `user` (null: no Authorization header). */
  as: (user: string | null, options: InjectOptions) => Promise<LightMyRequestResponse>
  close: () => Promise<void>
}

/**
 * Where the app's clock starts: the current minute. The CLI (in process or as a child) judges the
 * tokens it stored by the real clock, so the app that issued them must not run hours behind it.
 */
export const START = Math.floor(Date.now() / 60_000) * 60_000

export async function startTestApp (options: { config?: Partial<Config>, overrides?: AppOverrides, dataDir?: string } = {}): Promise<TestApp> {
  const dir = options.dataDir === undefined ? tempDir() : null
  const dataDir = options.dataDir ?? (dir as { path: string }).path
  const config = testConfig(dataDir, options.config)
  // The dev OpenID provider (oidc-provider and its dependencies) is loaded while its plugin starts,
  // which fastify allows 10 s: more than enough, except for a first load on a machine running other
  // suites. Loaded before the app starts, its load is not counted against that limit (and it is the
  // same module the app then imports).
  if (config.oidc === null) await import('../../src/identity/dev-provider.js')
  let clock = START
  const now = (): number => clock
  const app = await buildApp(config, { logger: false, now, sweep: false, notify: false, ...options.overrides })
  await app.ready()
  const tokens = new Map<string, string>()
  const token = async (user: string): Promise<string> => {
    let t = tokens.get(user)
    if (t === undefined) {
      const res = await app.inject({ method: 'POST', url: '/dev/token', payload: { user } })
      if (res.statusCode !== 200) throw new Error(`dev token for ${user}: ${res.statusCode} ${res.body}`)
      t = (res.json() as { token: string }).token
      tokens.set(user, t)
    }
    return t
  }
  return {
    app,
    config,
    dataDir,
    now,
    advance: (ms) => { clock += ms },
    token,
    async as (user, opts) {
      const headers = { ...(opts.headers ?? {}) }
      if (user !== null) headers.authorization = `Bearer ${await token(user)}`
      return await app.inject({ ...opts, headers })
    },
    async close () {
      await app.close()
      dir?.remove()
    }
  }
}
