// Profiles of the CLI: one JSON file per profile in the user's config directory, holding the gateway
// URL, the identity token and the access tokens obtained for requests. Tokens are secrets: the
// directory is 0700 and every file 0600, written whole and renamed into place.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { LocalRefusal } from './errors.js'
import type { StoredSignIn } from './sign-in.js'

export interface ProfileUser {
  id: string
  name: string
  tenantId: string
  provider: boolean
  roles: string[]
}

export interface StoredAccessToken {
  requestId: string
  tenantId: string
  workload: string
  scope: string
  accessLevel: string
  accessToken: string
  expiresAt: string
  storedAt: string
}

export interface Profile {
  url?: string
  identityToken?: string
  /** How to renew the identity token (interactive sign-in with a refresh token). */
  signIn?: StoredSignIn
  user?: ProfileUser
  accessTokens: Record<string, StoredAccessToken>
}

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** `$LOCKBOX_CONFIG_DIR`, else `$XDG_CONFIG_HOME/lockbox`, else `~/.config/lockbox`. */
export function configDir (env: NodeJS.ProcessEnv): string {
  if (env.LOCKBOX_CONFIG_DIR !== undefined && env.LOCKBOX_CONFIG_DIR !== '') return env.LOCKBOX_CONFIG_DIR
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'lockbox')
}

export class ProfileStore {
  readonly file: string

  constructor (readonly dir: string, readonly name: string) {
    this.file = join(dir, `${name}.json`)
  }

  load (): Profile {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { accessTokens: {} }
      throw err
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new LocalRefusal(`profile file ${this.file} is not valid JSON`, `fix it, or delete it and log in again: lockbox --profile ${this.name} login`)
    }
    const profile = parsed as Partial<Profile>
    return { ...profile, accessTokens: profile.accessTokens ?? {} }
  }

  /** Writes the profile, dropping access tokens that have expired. */
  save (profile: Profile, now = Date.now()): void {
    const accessTokens = Object.fromEntries(Object.entries(profile.accessTokens)
      .filter(([, t]) => Date.parse(t.expiresAt) > now))
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const temp = `${this.file}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify({ ...profile, accessTokens }, null, 2) + '\n', { mode: 0o600 })
    // The mode given to writeFileSync is masked by the umask; the file must end up 0600 whatever it is.
    chmodSync(temp, 0o600)
    renameSync(temp, this.file)
  }

  /** Deletes the profile file; false when there was none. */
  remove (): boolean {
    const existed = existsSync(this.file)
    rmSync(this.file, { force: true })
    return existed
  }
}

/** The access token to use for a workload and tenant: the most recently stored one still valid. */
export function latestAccessToken (profile: Profile, workload: string, tenantId: string, now = Date.now()): StoredAccessToken | null {
  const candidates = Object.values(profile.accessTokens)
    .filter((t) => t.workload === workload && t.tenantId === tenantId && Date.parse(t.expiresAt) > now)
    .sort((a, b) => Date.parse(b.storedAt) - Date.parse(a.storedAt))
  return candidates[0] ?? null
}
