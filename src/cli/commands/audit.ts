// `lockbox audit search|export|verify|checkpoint|tail`: the tenant audit log (API.md §6).
import { writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { verifyExport } from '../../audit/verify-export.js'
import type { ApproverKeySet } from '../../domain/approval.js'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { AUDIT_OPERATIONS } from '../../domain/audit.js'
import type { AuditRecord, ChainVerification, Page } from '../api.js'
import { contextOf, type Context } from '../context.js'
import { CliError, EXIT, UnreachableError } from '../errors.js'
import { bytes, fields, table } from '../format.js'
import { cursorOption, limitOption, limitUpTo, timestamp, tenantOption } from '../options.js'
import { Progress } from '../progress.js'
import { serverSentEvents } from '../sse.js'
import { Counter, streamBody } from '../streams.js'
import { AUDIT_HEADER, auditRows, showMore } from '../views.js'

interface FilterOptions {
  tenant?: string
  request?: string
  operation?: string
  actor?: string
  from?: string
  to?: string
  format?: string
}

const KNOWN: ReadonlySet<string> = new Set(AUDIT_OPERATIONS)

function operations (value: string): string {
  const unknown = value.split(',').map((s) => s.trim()).find((op) => !KNOWN.has(op))
  if (unknown !== undefined) throw new InvalidArgumentError(`unknown operation "${unknown}"; one of ${AUDIT_OPERATIONS.join(', ')}.`)
  return value
}

function withFilters (command: Command): Command {
  return command
    .addOption(tenantOption('only this tenant (default: every tenant you may read)'))
    .option('--request <id>', 'only records of this lockbox request')
    .addOption(new Option('--operation <list>', 'only these operations, comma-separated (e.g. ContentAccessed,ContentAccessDenied)').argParser(operations))
    .option('--actor <id>', 'only records of this actor')
    .addOption(new Option('--from <time>', 'records at or after this time (ISO 8601)').argParser(timestamp))
    .addOption(new Option('--to <time>', 'records at or before this time (ISO 8601)').argParser(timestamp))
    .addOption(new Option('--format <format>', 'o365: the Office 365 Management Activity API common schema; ocsf: OCSF 1.3 events').choices(['native', 'o365', 'ocsf']))
}

function filterQuery (options: FilterOptions): Record<string, string | undefined> {
  return {
    tenantId: options.tenant,
    requestId: options.request,
    operation: options.operation,
    actorId: options.actor,
    from: options.from,
    to: options.to,
    format: options.format
  }
}

/**
 * The offline proof of approvals (issue 19), run here on the tenant's export and its published
 * approver keys, with the same code as `npm run audit:verify --approver-keys`.
 */
async function proveApprovals (ctx: Context, tenantId: string): Promise<void> {
  const keys = await ctx.client.json<ApproverKeySet>('GET', `/v1/tenants/${encodeURIComponent(tenantId)}/approver-keys`, { token: null })
  const res = await ctx.client.send('GET', '/v1/audit/export', { token: ctx.identity(), query: { tenantId }, headers: { accept: 'application/x-ndjson' } })
  const lines = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), crlfDelay: Infinity })
  const report = await verifyExport(lines, null, { approverKeys: [keys] })
  // A tenant without records is in no line of the export, and has no approvals to prove.
  const tally = report.tenants[0]?.approvals ?? { approvals: 0, extensions: 0, proven: 0, unsigned: 0 }
  ctx.out.line(`approvals: ${tally.approvals}, ${tally.proven} proven by approver signatures, ${tally.unsigned} unsigned (not required then); ${tally.extensions} of them extended a window`)
  for (const problem of report.problems) ctx.out.line(`  ${problem}`)
  if (!report.valid) {
    throw new CliError(`${report.problems.length} approval(s) of ${tenantId} are not proven by its approvers' signatures`, EXIT.refused,
      'an approval was recorded that the tenant\'s approvers did not sign: tell the gateway\'s operators, and keep the export')
  }
}

/** o365 records carry their own names; shown with the columns a SIEM user knows. */
function o365Rows (records: Array<Record<string, unknown>>): string[][] {
  return records.map((r) => ['CreationTime', 'Operation', 'ResultStatus', 'UserId', 'ObjectId'].map((k) => String(r[k])))
}

/** OCSF events, shown by what a SIEM user searches on: time, class and activity, status, user, record id. */
function ocsfRows (records: Array<Record<string, unknown>>): string[][] {
  return records.map((r) => {
    const metadata = r.metadata as { uid: string, original_time: string }
    const user = (r.actor as { user: { uid: string } }).user
    return [metadata.original_time, String(r.type_name), String(r.status), user.uid, metadata.uid]
  })
}

async function tail (ctx: Context, options: { tenant?: string, request?: string, max?: number }): Promise<void> {
  const stop = new AbortController()
  const interrupt = (): void => { stop.abort() }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  let seen = 0
  try {
    const res = await ctx.client.send('GET', '/v1/audit/stream', {
      token: ctx.identity(),
      query: { tenantId: options.tenant, requestId: options.request },
      headers: { accept: 'text/event-stream' },
      signal: stop.signal
    })
    ctx.out.notice(`following the audit log of ${options.tenant ?? 'every tenant you may read'}${options.request === undefined ? '' : `, request ${options.request}`} (Ctrl-C to stop)`)
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)
    for await (const event of serverSentEvents(body)) {
      if (event.event !== 'record') continue
      const record = JSON.parse(event.data) as AuditRecord
      ctx.out.line(ctx.out.json ? JSON.stringify(record) : (auditRows(ctx.out, [record])[0] as string[]).join('  ').trimEnd())
      if (++seen === options.max) return
    }
  } catch (err) {
    if (stop.signal.aborted) return
    throw err
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    stop.abort()
  }
  throw new UnreachableError(`the gateway closed the audit stream after ${seen} records`, ctx.client.baseUrl)
}

export function registerAudit (program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log (SecurityReader, or a tenant\'s approvers for their tenant)')

  withFilters(audit.command('search'))
    .description('search records, oldest first')
    .addOption(limitOption(1000))
    .addOption(cursorOption())
    .action(async (options: FilterOptions & { limit?: number, cursor?: string }, command: Command) => {
      const ctx = contextOf(command)
      const page = await ctx.client.json<Page<AuditRecord>>('GET', '/v1/audit', {
        token: ctx.identity(),
        query: { ...filterQuery(options), limit: options.limit, cursor: options.cursor }
      })
      ctx.out.result(page, () => {
        if (page.items.length === 0) ctx.out.line('No records.')
        else if (options.format === 'o365') ctx.out.lines(table(['CREATED', 'OPERATION', 'RESULT', 'USER', 'OBJECT'], o365Rows(page.items)))
        else if (options.format === 'ocsf') ctx.out.lines(table(['TIME', 'TYPE', 'STATUS', 'USER', 'UID'], ocsfRows(page.items)))
        else ctx.out.lines(table(AUDIT_HEADER, auditRows(ctx.out, page.items)))
        showMore(ctx.out, page.nextCursor)
      })
    })

  withFilters(audit.command('export'))
    .description('every matching record as NDJSON, streamed to a file or stdout')
    .option('-o, --output <file>', 'write to this file (created 0600) instead of stdout')
    .action(async (options: FilterOptions & { output?: string }, command: Command) => {
      const ctx = contextOf(command)
      const res = await ctx.client.send('GET', '/v1/audit/export', {
        token: ctx.identity(),
        query: filterQuery(options),
        headers: { accept: 'application/x-ndjson' }
      })
      const progress = new Progress(ctx.out.stderr, ctx.out.stderr.isTTY === true, 'exporting')
      const counter = new Counter((c) => { progress.update(c.lines, c.bytes) })
      try {
        await streamBody(res.body as ReadableStream<Uint8Array> | null, counter, options.output, ctx.out.stdout)
      } finally {
        progress.done()
      }
      const file = options.output
      if (file === undefined) return
      ctx.out.result({ file, records: counter.lines, bytes: counter.bytes }, () => {
        ctx.out.line(`Exported ${counter.lines} records (${bytes(counter.bytes)}) to ${file}.`)
      })
    })

  audit.command('verify')
    .description('walk a tenant\'s hash chain; exits 1 when it is broken')
    .addOption(tenantOption())
    .option('--approvals', 'also prove, from the export and the tenant\'s published approver keys, that each approval carries valid approver signatures meeting its quorum')
    .action(async (options: { tenant?: string, approvals?: boolean }, command: Command) => {
      const ctx = contextOf(command)
      const result = await ctx.client.json<ChainVerification>('GET', '/v1/audit/verify', {
        token: ctx.identity(),
        query: { tenantId: ctx.tenant(options.tenant) }
      })
      const violations = result.invariantViolations ?? []
      const mismatches = result.stateMismatches ?? []
      ctx.out.result(result, () => {
        const verdict = result.firstInvalidSeq === null ? ctx.out.paint('green', 'valid') : ctx.out.paint('red', `BROKEN at seq ${String(result.firstInvalidSeq)}`)
        const rows: Array<[string, string]> = [
          ['tenant', result.tenantId],
          ['chain', verdict],
          ['records', String(result.records)],
          ['head', `seq ${result.headSeq}, hash ${result.headHash}`]
        ]
        if (result.invariantViolationCount !== undefined) {
          rows.push(['invariant', violations.length === 0 ? ctx.out.paint('green', 'no access after its grant ended') : ctx.out.paint('red', `${String(result.invariantViolationCount)} access(es) after the grant ended`)])
        }
        if (result.stateMismatches !== undefined) {
          rows.push(['stored state', mismatches.length === 0 ? ctx.out.paint('green', 'backed by the chain') : ctx.out.paint('red', `${mismatches.length} request(s) not backed by the chain`)])
        }
        ctx.out.lines(fields(rows))
        for (const v of violations) ctx.out.line(`  seq ${v.seq}: ContentAccessed for request ${v.requestId} after seq ${v.endedBySeq} ended it`)
        for (const m of mismatches) ctx.out.line(`  request ${m.requestId}: stored ${m.field === 'status' ? `as ${m.storedStatus}` : `with a ${m.field}`} the chain does not back (last transition seq ${m.seq}: ${m.chainStatus ?? 'no status'})`)
      })
      if (result.firstInvalidSeq !== null) {
        throw new CliError(`the audit chain of ${result.tenantId} is broken at seq ${String(result.firstInvalidSeq)}`, EXIT.refused,
          'keep the export and the last checkpoint you hold, and tell the gateway\'s operators: records were changed or removed')
      }
      const [violation] = violations
      if (violation !== undefined) {
        throw new CliError(`the audit chain of ${result.tenantId} holds content access after the grant ended (first at seq ${violation.seq})`, EXIT.refused,
          'the enforcement invariant does not hold: tell the gateway\'s operators')
      }
      const [mismatch] = mismatches
      if (mismatch !== undefined) {
        throw new CliError(`request ${mismatch.requestId} of ${result.tenantId} is stored in a state its audit chain does not back`, EXIT.refused,
          'the stored state was changed outside the gateway: tell the gateway\'s operators')
      }
      /* c8 ignore next -- an older gateway's `valid: false` with none of the reasons above */
      if (!result.valid) throw new CliError(`the audit log of ${result.tenantId} did not verify`, EXIT.refused)
      if (options.approvals === true) await proveApprovals(ctx, result.tenantId)
    })

  audit.command('checkpoint')
    .description('a signed checkpoint (compact JWS) of a tenant\'s chain head: keep it to prove later exports kept their tail')
    .addOption(tenantOption())
    .option('-o, --output <file>', 'write it to this file instead of stdout')
    .action(async (options: { tenant?: string, output?: string }, command: Command) => {
      const ctx = contextOf(command)
      const res = await ctx.client.send('GET', '/v1/audit/checkpoint', { token: ctx.identity(), query: { tenantId: ctx.tenant(options.tenant) } })
      const jws = (await res.text()).trim()
      if (options.output === undefined) {
        ctx.out.result({ checkpoint: jws }, () => { ctx.out.line(jws) })
        return
      }
      const file = options.output
      writeFileSync(file, jws + '\n', { mode: 0o600 })
      ctx.out.result({ checkpoint: jws, file }, () => { ctx.out.line(`Checkpoint saved to ${file}.`) })
    })

  audit.command('tail')
    .description('follow new records live, one line each (NDJSON with --json), until Ctrl-C')
    .addOption(tenantOption('only this tenant (default: every tenant you may read)'))
    .option('--request <id>', 'only records of this lockbox request')
    .addOption(new Option('--max <n>', 'stop after this many records').argParser(limitUpTo(1_000_000)))
    .action(async (options: { tenant?: string, request?: string, max?: number }, command: Command) => {
      await tail(contextOf(command), options)
    })
}
