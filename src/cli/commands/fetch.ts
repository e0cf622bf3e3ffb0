// `lockbox fetch <workload> <tenant> <path>`: a curl-like call to a content route through the gateway
// with a stored access token (API.md §5). Bodies are streamed both ways, never held whole.
import { createReadStream, statSync } from 'node:fs'
import { Readable } from 'node:stream'
import { Argument, type Command, InvalidArgumentError, Option } from 'commander'
import { WORKLOADS } from '../../domain/lockbox.js'
import { latestAccessToken, type Profile, type StoredAccessToken } from '../config.js'
import { contextOf } from '../context.js'
import { hintFor, LocalRefusal, ProblemError, UsageError } from '../errors.js'
import { bytes } from '../format.js'
import { readProblem } from '../http.js'
import { tenantId } from '../options.js'
import { Counter, streamBody } from '../streams.js'

interface FetchOptions {
  request?: string
  method?: string
  data?: string
  header: string[]
  include?: boolean
  output?: string
}

function header (value: string, previous: string[]): string[] {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(value)) throw new InvalidArgumentError('expected "Name: value".')
  return [...previous, value]
}

function method (value: string): string {
  if (!/^[A-Za-z]+$/.test(value)) throw new InvalidArgumentError('expected an HTTP method such as GET or PUT.')
  return value.toUpperCase()
}

/**
 * The path as given, with only what may not appear in a URL path percent-encoded (spaces, non-ASCII):
 * `%` is left alone so a path the user encoded is sent as they wrote it, like curl does.
 */
export function encodePath (path: string): string {
  const [pathPart, ...query] = path.split('?')
  const absolute = (pathPart as string).startsWith('/') ? pathPart as string : `/${pathPart as string}`
  const encoded = absolute.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c))
  return query.length === 0 ? encoded : `${encoded}?${query.join('?')}`
}

function storedToken (profile: Profile, workload: string, tenant: string, requestId: string | undefined, now: number): StoredAccessToken {
  if (requestId !== undefined) {
    const stored = profile.accessTokens[requestId]
    if (stored === undefined || Date.parse(stored.expiresAt) <= now) {
      throw new LocalRefusal(`no valid access token stored for request ${requestId}`, `get one: lockbox token ${requestId}`)
    }
    return stored
  }
  const latest = latestAccessToken(profile, workload, tenant, now)
  if (latest === null) {
    throw new LocalRefusal(`no valid access token stored for ${workload} in ${tenant}`,
      'get one for your approved request: lockbox token <request-id> (`lockbox request list --status Approved` lists them)')
  }
  return latest
}

function uploadBody (data: string | undefined, stdin: Readable): { body?: ReadableStream<Uint8Array> | string, type?: string } {
  if (data === undefined) return {}
  if (!data.startsWith('@')) return { body: data, type: 'text/plain; charset=utf-8' }
  const file = data.slice(1)
  if (file === '-') return { body: Readable.toWeb(stdin) as ReadableStream<Uint8Array>, type: 'application/octet-stream' }
  try {
    statSync(file)
  } catch {
    throw new UsageError(`cannot read ${file}`, 'give -d @<file> an existing file, -d @- for stdin, or -d <text>')
  }
  return { body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, type: 'application/octet-stream' }
}

export function registerFetch (program: Command): void {
  program.command('fetch')
    .description('call a content route through the gateway with your stored access token, like curl')
    .addArgument(new Argument('<workload>', 'content service').choices(WORKLOADS))
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(tenantId))
    .argument('<path>', 'path inside the tenant\'s workload, query string allowed, e.g. /mailboxes/alice@contoso.com/messages')
    .option('--request <id>', 'use the access token stored for this request (default: the latest for this workload and tenant)')
    .addOption(new Option('-X, --method <method>', 'HTTP method (default: GET, or POST with -d)').argParser(method))
    .option('-d, --data <data>', 'request body: text, @file (streamed) or @- (stdin)')
    .addOption(new Option('-H, --header <header>', 'extra request header "Name: value" (repeatable)').argParser(header).default([]))
    .option('-i, --include', 'print the status line and response headers before the body')
    .option('-o, --output <file>', 'write the body to a file (created 0600) instead of stdout')
    .action(async (workload: string, tenant: string, path: string, options: FetchOptions, command: Command) => {
      const ctx = contextOf(command)
      const token = storedToken(ctx.profile, workload, tenant, options.request, ctx.now())
      const upload = uploadBody(options.data, ctx.io.stdin)
      const headers: Record<string, string> = {}
      if (upload.type !== undefined) headers['content-type'] = upload.type
      for (const line of options.header) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const res = await ctx.client.send(options.method ?? (upload.body === undefined ? 'GET' : 'POST'), `/${workload}/${tenant}${encodePath(path)}`, {
        token: token.accessToken,
        plane: 'content',
        headers,
        body: upload.body,
        acceptErrors: true
      })
      if (options.include === true) {
        ctx.out.line(`HTTP ${res.status} ${res.statusText}`)
        res.headers.forEach((value, name) => { ctx.out.line(`${name}: ${value}`) })
        ctx.out.line()
      }
      if (!res.ok) {
        const problem = await readProblem(res)
        throw new ProblemError(problem, hintFor(problem, 'content'))
      }
      const counter = new Counter()
      await streamBody(res.body as ReadableStream<Uint8Array> | null, counter, options.output, ctx.out.stdout)
      if (options.output !== undefined) {
        const file = options.output
        ctx.out.result({ status: res.status, file, bytes: counter.bytes }, () => {
          ctx.out.line(`Saved ${bytes(counter.bytes)} to ${file} (${res.status} ${res.statusText}, request ${token.requestId}).`)
        })
      }
    })
}
