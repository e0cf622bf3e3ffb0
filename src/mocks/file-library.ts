// The files of one SharePoint site or OneDrive drive, held in memory by one mock instance.
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { smallBodyBytes } from './bytes.js'
import type { SampleFile } from './content.js'

/**
 * Uploads up to this size are kept and served back byte for byte. A larger upload is hashed as it
 * streams in and only its size and SHA-256 are kept: a mock that buffered every 50 MiB upload would
 * make the gateway's streaming tests measure the mock's memory instead. Such a file stays listed
 * with its size, and reading it answers 410 Gone with the size and digest, so a test can still
 * prove every byte arrived.
 */
export const RETAINED_UPLOAD_LIMIT = 8 * 1024 * 1024

export type StoredContent =
  | { kind: 'bytes', data: Buffer }
  | { kind: 'pattern' }
  | { kind: 'digest', sha256: string }

export interface StoredFile {
  path: string
  name: string
  size: number
  contentType: string
  content: StoredContent
}

export interface FileSummary {
  path: string
  name: string
  size: number
  contentType: string
}

export interface UploadResult {
  created: boolean
  file: FileSummary & { sha256: string }
}

function summary ({ path, name, size, contentType }: StoredFile): FileSummary {
  return { path, name, size, contentType }
}

function nameOf (path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

function storedFromSample ({ path, contentType, body }: SampleFile, seed: string): StoredFile {
  const base = { path, name: nameOf(path), contentType }
  if (body.kind === 'pattern') return { ...base, size: body.size, content: { kind: 'pattern' } }
  const data = smallBodyBytes(body, `${seed}/${path}`)
  return { ...base, size: data.length, content: { kind: 'bytes', data } }
}

export class FileLibrary {
  readonly #files = new Map<string, StoredFile>()

  /** `seed` makes two libraries with the same paths hold different sample bytes. */
  constructor (samples: SampleFile[], seed: string) {
    for (const file of samples) this.#files.set(file.path, storedFromSample(file, seed))
  }

  list (): FileSummary[] {
    return [...this.#files.values()].map(summary).sort((a, b) => a.path.localeCompare(b.path))
  }

  get (path: string): StoredFile | undefined {
    return this.#files.get(path)
  }

  delete (path: string): boolean {
    return this.#files.delete(path)
  }

  /** Reads `body` to its end and stores it at `path`; nothing is stored if the body fails. */
  async put (path: string, contentType: string, body: Readable): Promise<UploadResult> {
    const hash = createHash('sha256')
    let kept: Buffer[] | null = []
    let size = 0
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
      kept?.push(chunk)
      if (size > RETAINED_UPLOAD_LIMIT) kept = null
    }
    const sha256 = hash.digest('hex')
    const content: StoredContent = kept === null ? { kind: 'digest', sha256 } : { kind: 'bytes', data: Buffer.concat(kept) }
    const file: StoredFile = { path, name: nameOf(path), size, contentType, content }
    const created = !this.#files.has(path)
    this.#files.set(path, file)
    return { created, file: { ...summary(file), sha256 } }
  }
}
