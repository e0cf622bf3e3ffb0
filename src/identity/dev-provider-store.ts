// Where the dev OpenID provider keeps its state (sessions, interactions, codes, refresh tokens,
// device codes): files in the data dir, so every gateway process on that dir (LOCKBOX_WORKERS)
// redeems a code another one issued, and a restart does not sign anybody out.
import { createHash, randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Adapter, AdapterPayload } from 'oidc-provider'

interface Entry<T> {
  value: T
  /** Epoch ms; null: kept until destroyed. */
  expiresAt: number | null
}

interface GrantMember {
  model: string
  id: string
}

const key = (text: string): string => createHash('sha256').update(text).digest('base64url')

async function readEntry<T> (file: string, now: number): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    /* c8 ignore next -- an unreadable state file (not a missing one) is the data dir's fault, not the caller's */
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return undefined
  }
  const entry = JSON.parse(text) as Entry<T>
  if (entry.expiresAt !== null && entry.expiresAt <= now) {
    await rm(file, { force: true })
    return undefined
  }
  return entry.value
}

/** Whole files renamed into place: a reader in another process never sees half a record. */
async function writeEntry (file: string, value: unknown, expiresAt: number | null): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`
  await writeFile(temp, JSON.stringify({ value, expiresAt }), { mode: 0o600 })
  await rename(temp, file)
}

/** An oidc-provider adapter class over `dir`. */
export function fileAdapter (dir: string, now: () => number = Date.now): new (model: string) => Adapter {
  const file = (model: string, id: string): string => join(dir, model, `${key(id)}.json`)
  const grantDir = (grantId: string): string => join(dir, 'grant-members', key(grantId))

  return class FileAdapter implements Adapter {
    constructor (readonly model: string) {}

    async upsert (id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const expiresAt = typeof expiresIn === 'number' ? now() + expiresIn * 1000 : null
      await writeEntry(file(this.model, id), payload, expiresAt)
      if (typeof payload.uid === 'string') await writeEntry(file(`${this.model}.uid`, payload.uid), id, expiresAt)
      if (typeof payload.userCode === 'string') await writeEntry(file(`${this.model}.userCode`, payload.userCode), id, expiresAt)
      if (typeof payload.grantId === 'string') {
        const member: GrantMember = { model: this.model, id }
        await writeEntry(join(grantDir(payload.grantId), `${this.model}.${key(id)}.json`), member, expiresAt)
      }
    }

    async find (id: string): Promise<AdapterPayload | undefined> {
      return await readEntry<AdapterPayload>(file(this.model, id), now())
    }

    async findByUid (uid: string): Promise<AdapterPayload | undefined> {
      const id = await readEntry<string>(file(`${this.model}.uid`, uid), now())
      return id === undefined ? undefined : await this.find(id)
    }

    async findByUserCode (userCode: string): Promise<AdapterPayload | undefined> {
      const id = await readEntry<string>(file(`${this.model}.userCode`, userCode), now())
      return id === undefined ? undefined : await this.find(id)
    }

    async consume (id: string): Promise<void> {
      const path = file(this.model, id)
      const text = await readFile(path, 'utf8').catch(() => null)
      if (text === null) return
      const entry = JSON.parse(text) as Entry<AdapterPayload>
      entry.value.consumed = Math.floor(now() / 1000)
      await writeEntry(path, entry.value, entry.expiresAt)
    }

    async destroy (id: string): Promise<void> {
      await rm(file(this.model, id), { force: true })
    }

    async revokeByGrantId (grantId: string): Promise<void> {
      const members = grantDir(grantId)
      const names = await readdir(members).catch(() => [] as string[])
      for (const name of names) {
        const member = await readEntry<GrantMember>(join(members, name), now())
        if (member !== undefined) await rm(file(member.model, member.id), { force: true })
      }
      await rm(members, { recursive: true, force: true })
    }
  }
}
