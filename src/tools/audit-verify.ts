// npm run audit:verify -- <export.ndjson> [--checkpoint <jws or file>] [--jwks <url or file>] [--approver-keys <url or file>]…
// Proves offline that an export is intact and, against a held checkpoint, that nothing was cut from
// its end; with a tenant's published approver keys, that each of its approvals was signed by its
// approvers. Exit 0: intact; 1: tampered, truncated or unproven; 2: usage or unreadable input.
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { verifyExport, type ExportReport } from '../audit/verify-export.js'
import { verifyCheckpoint, type Checkpoint } from '../gateway/checkpoint.js'
import type { ApproverKeySet } from '../domain/approval.js'

const USAGE = 'usage: audit-verify <export.ndjson> [--checkpoint <jws or file>] [--jwks <url or file>] [--approver-keys <url or file>]... [--json]'

export interface Io { out: (text: string) => void, err: (text: string) => void }

function keysFrom (source: string): JWTVerifyGetKey {
  if (/^https?:\/\//.test(source)) return createRemoteJWKSet(new URL(source))
  return createLocalJWKSet(JSON.parse(readFileSync(source, 'utf8')) as Parameters<typeof createLocalJWKSet>[0])
}

/** A tenant's published approver keys: GET /v1/tenants/{id}/approver-keys, or a saved copy (one set or an array). */
async function approverKeysFrom (source: string): Promise<ApproverKeySet[]> {
  let data: unknown
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source)
    if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`)
    data = await res.json()
  } else {
    data = JSON.parse(readFileSync(source, 'utf8'))
  }
  const sets = Array.isArray(data) ? data : [data]
  for (const set of sets) {
    if (typeof set?.tenantId !== 'string' || !Array.isArray(set?.keys) || !Array.isArray(set?.origins) || typeof set?.rpId !== 'string') {
      throw new Error(`${source}: not a published approver key set (tenantId, rpId, origins, keys)`)
    }
  }
  return sets as ApproverKeySet[]
}

function describe (report: ExportReport): string {
  const lines = report.tenants.map((t) =>
    `${t.valid ? 'ok  ' : 'FAIL'} ${t.tenantId}: ${t.records} records, seq ${t.firstSeq}..${t.headSeq}${t.fromGenesis ? ' (from genesis)' : ' (from a later anchor)'}, head ${t.headHash.slice(0, 16)}…`)
  for (const t of report.tenants) {
    if (t.approvals !== undefined) lines.push(`     ${t.tenantId}: ${t.approvals.approvals} approvals, ${t.approvals.proven} proven by approver signatures, ${t.approvals.unsigned} unsigned (not required then); ${t.approvals.extensions} of them extended a window`)
  }
  if (report.checkpoint !== null) {
    lines.push(`${report.checkpoint.reached ? 'ok  ' : 'FAIL'} checkpoint ${report.checkpoint.tenantId}@${report.checkpoint.seq} ${report.checkpoint.reached ? 'reached' : 'not reached'}`)
  }
  for (const problem of report.problems) lines.push(`problem: ${problem}`)
  lines.push(report.valid ? 'export intact' : 'export NOT intact')
  return lines.join('\n')
}

export async function main (argv: string[], io: Io): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { checkpoint: { type: 'string' }, jwks: { type: 'string' }, 'approver-keys': { type: 'string', multiple: true }, json: { type: 'boolean' } } })
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const [file, ...extra] = parsed.positionals
  const { checkpoint: checkpointArg, jwks, json } = parsed.values
  if (file === undefined || extra.length > 0) {
    io.err(USAGE)
    return 2
  }
  if (checkpointArg !== undefined && jwks === undefined) {
    io.err('--checkpoint needs --jwks (the gateway\'s /.well-known/jwks.json, or a saved copy) to check its signature')
    return 2
  }
  if (!existsSync(file)) {
    io.err(`cannot read ${file}`)
    return 2
  }
  let checkpoint: Checkpoint | null = null
  if (checkpointArg !== undefined) {
    const jws = existsSync(checkpointArg) ? readFileSync(checkpointArg, 'utf8').trim() : checkpointArg.trim()
    try {
      checkpoint = await verifyCheckpoint(jws, keysFrom(jwks as string))
    } catch (err) {
      io.err(`checkpoint refused: ${(err as Error).message}`)
      return 1
    }
  }
  const approverKeys: ApproverKeySet[] = []
  for (const source of parsed.values['approver-keys'] ?? []) {
    try {
      approverKeys.push(...await approverKeysFrom(source))
    } catch (err) {
      io.err(`approver keys unreadable: ${(err as Error).message}`)
      return 2
    }
  }
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  const report = await verifyExport(lines, checkpoint, { approverKeys })
  io.out(json === true ? JSON.stringify(report) : describe(report))
  return report.valid ? 0 : 1
}

/* c8 ignore start -- the process entry point; main() is what the tests drive */
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main(process.argv.slice(2), { out: (t) => { process.stdout.write(t + '\n') }, err: (t) => { process.stderr.write(t + '\n') } })
    .then((code) => { process.exitCode = code }, (err: unknown) => {
      process.stderr.write(`audit-verify: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exitCode = 2
    })
}
/* c8 ignore stop */
