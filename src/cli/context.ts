// What every command works with: the streams and environment it runs in, and the global options
// resolved into an output, a profile and a client.
import type { Readable } from 'node:stream'
import type { Command } from 'commander'
import { configDir, PROFILE_NAME, ProfileStore, type Profile } from './config.js'
import { LocalRefusal, UsageError } from './errors.js'
import { GatewayClient } from './http.js'
import { Output, type OutStream, type Terminal } from './output.js'

export const DEFAULT_URL = 'http://127.0.0.1:8080'

/** The process's streams and environment; tests give their own. */
export interface Io {
  stdout: OutStream
  stderr: OutStream
  stdin: Readable & Terminal
  env: NodeJS.ProcessEnv
  /** The clock, epoch ms (default: Date.now). Tests run the CLI on the clock of the app it talks to. */
  now?: () => number
}

export interface GlobalOptions {
  url?: string
  profile?: string
  json?: boolean
  timeout: number
}

export interface Context {
  io: Io
  out: Output
  store: ProfileStore
  profile: Profile
  client: GatewayClient
  now: () => number
  /** The stored identity token; refuses when there is none. */
  identity: () => string
  /** `given`, or the tenant of a logged-in customer user; provider staff must name one. */
  tenant: (given: string | undefined) => string
  save: () => void
}

const IO = new WeakMap<Command, Io>()

/** Attaches the streams a program runs on, for its commands to find. */
export function bindIo (program: Command, io: Io): void {
  IO.set(program, io)
}

export function outputOf (options: { json?: boolean }, io: Io): Output {
  return new Output({ json: options.json === true, stdout: io.stdout, stderr: io.stderr, env: io.env })
}

const set = (value: string | undefined): string | undefined => value === undefined || value === '' ? undefined : value

function gatewayUrl (given: string | undefined, profile: Profile): string {
  const url = given ?? profile.url ?? DEFAULT_URL
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`"${url}" is not a URL`, 'pass the gateway\'s base URL, e.g. --url http://127.0.0.1:8080')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`"${url}" is not an http(s) URL`, 'pass the gateway\'s base URL, e.g. --url http://127.0.0.1:8080')
  }
  return url
}

export function contextOf (command: Command): Context {
  let root = command
  while (root.parent !== null) root = root.parent
  const io = IO.get(root) as Io
  const options = command.optsWithGlobals<GlobalOptions>()
  const out = outputOf(options, io)
  const name = options.profile ?? set(io.env.LOCKBOX_PROFILE) ?? 'default'
  if (!PROFILE_NAME.test(name)) throw new UsageError(`"${name}" is not a profile name`, 'a profile name is letters, digits, ".", "_" and "-", e.g. --profile customer')
  const store = new ProfileStore(configDir(io.env), name)
  const profile = store.load()
  const client = new GatewayClient(gatewayUrl(options.url ?? set(io.env.LOCKBOX_URL), profile), options.timeout * 1000)
  const now = io.now ?? Date.now
  const login = name === 'default' ? 'lockbox login' : `lockbox --profile ${name} login`
  return {
    io,
    out,
    store,
    profile,
    client,
    now,
    identity () {
      if (profile.identityToken === undefined) {
        throw new LocalRefusal(`not logged in (profile "${name}")`, `run \`${login}\` to sign in (\`${login} --dev <user>\` with the dev issuer, \`${login} --token <jwt>\` in scripts)`)
      }
      return profile.identityToken
    },
    tenant (given) {
      if (given !== undefined) return given
      if (profile.user !== undefined && !profile.user.provider) return profile.user.tenantId
      throw new UsageError('which tenant? pass --tenant <id>', 'provider staff always name the tenant, e.g. --tenant contoso')
    },
    save () {
      store.save(profile, now())
    }
  }
}
