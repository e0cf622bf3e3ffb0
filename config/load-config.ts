// Builds the Config from the environment (API.md §8). Any bad value throws a ConfigError whose
// message is one line naming the variable; src/server.ts prints it and exits.
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import Value from 'typebox/value'
import Type from 'typebox'
import { parseDuration } from '../src/domain/duration.js'
import { ConfigSchema, DevUserSchema, MAX_ACCESS_CEILING_MS, MAX_WORKERS, TenantSchema, type Config, type SiemConfig } from './schema.js'

// Far beyond any sane decision window, and small enough that deadlines stay valid dates.
const MAX_PENDING_TTL_MS = 30 * 24 * 3600_000
const MAX_RETENTION_MS = 36500 * 24 * 3600_000

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

type Env = Record<string, string | undefined>

const DEV_USERS_FILE = 'config/dev-users.json'

function read (env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function durationVar (env: Env, name: string, fallback: string): number {
  const text = read(env, name) ?? fallback
  const ms = parseDuration(text)
  if (ms === null || ms <= 0) throw new ConfigError(`${name}: "${text}" is not a positive ISO 8601 duration (e.g. PT12H, P365D)`)
  return ms
}

function countVar (env: Env, name: string, fallback: number): number {
  const text = read(env, name)
  if (text === undefined) return fallback
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new ConfigError(`${name}: "${text}" is not a positive whole number`)
  return Number(text)
}

/** A duration of at least one second: the budget's windows are counted in whole seconds (Retry-After). */
function secondsVar (env: Env, name: string, fallback: string): number {
  const ms = durationVar(env, name, fallback)
  if (ms < 1000) throw new ConfigError(`${name}: "${read(env, name) as string}" is shorter than PT1S`)
  return ms
}

/** A short wait, PT0S allowed, at most PT10S. */
function delayVar (env: Env, name: string, fallback: string): number {
  const text = read(env, name) ?? fallback
  const ms = parseDuration(text)
  if (ms === null || ms > 10_000) throw new ConfigError(`${name}: "${text}" is not an ISO 8601 duration from PT0S to PT10S`)
  return ms
}

const HTTP = ['http:', 'https:']

/** `protocols` keeps a scheme-less `localhost:8080` (a valid URL with scheme `localhost:`) from passing. */
function flagVar (env: Env, name: string): boolean {
  const text = read(env, name)
  if (text === undefined || text === 'false' || text === '0') return false
  if (text === 'true' || text === '1') return true
  throw new ConfigError(`${name}: "${text}" is not true, false, 1 or 0`)
}

function urlVar (env: Env, name: string, protocols: readonly string[]): string | null {
  const text = read(env, name)
  if (text === undefined) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(`${name}: "${text}" is not a URL`)
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(`${name}: "${text}" is not a URL with scheme ${protocols.join(' or ')}`)
  return text.replace(/\/+$/, '')
}

/** A comma-separated list of `host:port` (`[v6]:port`); the port may be left out. */
function hostPortsVar (env: Env, name: string, defaultPort: number): Array<{ host: string, port: number }> {
  const entries = (read(env, name) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  return entries.map((entry) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(entry)
    const port = match?.[3] === undefined ? defaultPort : Number(match[3])
    if (match === null || port < 1 || port > 65535) throw new ConfigError(`${name}: "${entry}" is not host:port`)
    return { host: match[1] ?? match[2] as string, port }
  })
}

/** An IPv4/IPv6 address, optionally with a prefix length that fits its family. */
function isAddressOrCidr (entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/')
  const family = isIP(address as string)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

function jsonFile (name: string, path: string, schema: ReturnType<typeof Type.Array>): unknown[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    /* c8 ignore next -- fs errors carry a code; the fallback only keeps the message readable */
    throw new ConfigError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw new ConfigError(`${name}: ${path} is not valid JSON`)
  }
  if (!Value.Check(schema, data)) {
    const first = Value.Errors(schema, data)[0]
    /* c8 ignore next -- Errors lists at least one error whenever Check fails; the fallbacks satisfy the types */
    throw new ConfigError(`${name}: ${path} is invalid at "${first?.instancePath ?? ''}": ${first?.message ?? 'schema mismatch'}`)
  }
  return data as unknown[]
}

/** The SIEM push sinks (LOCKBOX_SIEM_*): none unless a URL is set. */
function siemVars (env: Env, at: (path: string) => string): SiemConfig {
  const hecUrl = urlVar(env, 'LOCKBOX_SIEM_HEC_URL', HTTP)
  const hecToken = read(env, 'LOCKBOX_SIEM_HEC_TOKEN') ?? null
  if (hecUrl !== null && hecToken === null) throw new ConfigError('LOCKBOX_SIEM_HEC_TOKEN: required when LOCKBOX_SIEM_HEC_URL is set')
  const format = read(env, 'LOCKBOX_SIEM_FORMAT') ?? 'ocsf'
  if (format !== 'ocsf' && format !== 'native' && format !== 'o365') throw new ConfigError(`LOCKBOX_SIEM_FORMAT: "${format}" is not a format (ocsf, native, o365)`)
  const caFile = read(env, 'LOCKBOX_SIEM_CA_FILE')
  let ca: string | null = null
  if (caFile !== undefined) {
    try {
      ca = readFileSync(at(caFile), 'utf8')
    } catch {
      throw new ConfigError(`LOCKBOX_SIEM_CA_FILE: cannot read ${caFile}`)
    }
  }
  return { hecUrl, hecToken, syslogUrl: urlVar(env, 'LOCKBOX_SIEM_SYSLOG_URL', ['tcp:', 'tls:']), format, ca }
}

/** Where the Redis store connects: one server, a Sentinel-watched one, or a Cluster. */
function redisConnection (env: Env): Pick<Config, 'redisUrl' | 'redisSentinels' | 'redisClusterNodes'> {
  const redisUrl = urlVar(env, 'LOCKBOX_REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379'
  const redisSentinels = hostPortsVar(env, 'LOCKBOX_REDIS_SENTINELS', 26379)
  const redisClusterNodes = hostPortsVar(env, 'LOCKBOX_REDIS_CLUSTER_NODES', 6379)
  if (redisSentinels.length > 0 && redisClusterNodes.length > 0) {
    throw new ConfigError('LOCKBOX_REDIS_CLUSTER_NODES: a Redis Cluster is not watched by Sentinel; set LOCKBOX_REDIS_SENTINELS or this, not both')
  }
  if (redisClusterNodes.length > 0 && !/^\/?0?$/.test(new URL(redisUrl).pathname)) {
    throw new ConfigError(`LOCKBOX_REDIS_URL: a Redis Cluster has database 0 only, "${redisUrl}" names another`)
  }
  return { redisUrl, redisSentinels, redisClusterNodes }
}

/** The organisation's identity provider, or null: the built-in dev provider runs instead. */
function identityProvider (env: Env): Config['oidc'] {
  const issuer = read(env, 'LOCKBOX_OIDC_ISSUER')
  if (issuer === undefined) return null
  // Checked as a URL (discovery is read from it), kept as written: `iss` is compared as a string.
  urlVar(env, 'LOCKBOX_OIDC_ISSUER', HTTP)
  const clientId = read(env, 'LOCKBOX_OIDC_CLIENT_ID')
  // An identity token's audience is the client it was issued to: the sign-in client by default.
  const audience = read(env, 'LOCKBOX_OIDC_AUDIENCE') ?? clientId
  if (audience === undefined) throw new ConfigError('LOCKBOX_OIDC_AUDIENCE: required when LOCKBOX_OIDC_ISSUER is set (or set LOCKBOX_OIDC_CLIENT_ID)')
  const jwksUrl = urlVar(env, 'LOCKBOX_OIDC_JWKS_URL', HTTP)
  const scopes = read(env, 'LOCKBOX_OIDC_SCOPES')?.split(/[\s,]+/).filter((s) => s !== '')
  if (scopes !== undefined && !scopes.includes('openid')) throw new ConfigError(`LOCKBOX_OIDC_SCOPES: "${read(env, 'LOCKBOX_OIDC_SCOPES') as string}" must include openid`)
  const name = read(env, 'LOCKBOX_OIDC_NAME')
  return {
    issuer,
    audience,
    ...(jwksUrl === null ? {} : { jwksUrl }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(scopes === undefined ? {} : { scopes: scopes.join(' ') }),
    ...(name === undefined ? {} : { name })
  }
}

/**
 * A configuration read from the environment: every setting decided, the number of processes too
 * (optional in Config only for the apps tests build from literals).
 */
export type LoadedConfig = Config & { workers: number }

/** `cwd` anchors relative paths (the data dir, the tenants file). */
export function loadConfig (env: Env, cwd: string = process.cwd()): LoadedConfig {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p))

  const host = read(env, 'LOCKBOX_HOST') ?? '127.0.0.1'
  const portText = read(env, 'LOCKBOX_PORT') ?? '8080'
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ConfigError(`LOCKBOX_PORT: "${portText}" is not a port number (0-65535)`)
  const port = Number(portText)

  const store = read(env, 'LOCKBOX_STORE') ?? 'embedded'
  if (store !== 'embedded' && store !== 'redis') throw new ConfigError(`LOCKBOX_STORE: "${store}" is not a store (embedded, redis)`)
  const { redisUrl, redisSentinels, redisClusterNodes } = redisConnection(env)

  const workersText = read(env, 'LOCKBOX_WORKERS') ?? '1'
  const workers = workersText === 'auto' ? availableParallelism() : Number(workersText)
  if (!/^(auto|\d{1,3})$/.test(workersText) || workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(`LOCKBOX_WORKERS: "${workersText}" is not a number of processes (1-${MAX_WORKERS}) or auto`)
  }

  const dataDir = at(read(env, 'LOCKBOX_DATA_DIR') ?? './data')

  const tenantsPath = at(read(env, 'LOCKBOX_TENANTS_FILE') ?? 'config/tenants.json')
  const tenants = jsonFile('LOCKBOX_TENANTS_FILE', tenantsPath, Type.Array(TenantSchema)) as Config['tenants']
  const seen = new Set<string>()
  for (const t of tenants) {
    if (seen.has(t.id)) throw new ConfigError(`LOCKBOX_TENANTS_FILE: tenant "${t.id}" is defined twice`)
    seen.add(t.id)
  }

  const providerTenantId = read(env, 'LOCKBOX_PROVIDER_TENANT_ID') ?? 'provider'
  if (seen.has(providerTenantId)) throw new ConfigError(`LOCKBOX_PROVIDER_TENANT_ID: "${providerTenantId}" is also a customer tenant`)

  const oidc = identityProvider(env)
  const devIdTokenTtlMs = durationVar(env, 'LOCKBOX_DEV_ID_TOKEN_TTL', 'PT1H')
  if (devIdTokenTtlMs < 1000) throw new ConfigError('LOCKBOX_DEV_ID_TOKEN_TTL: shorter than one second')
  // The dev users file is only read when the dev issuer runs.
  const devUsers = oidc === null ? jsonFile('LOCKBOX_DEV_USERS_FILE', at(read(env, 'LOCKBOX_DEV_USERS_FILE') ?? DEV_USERS_FILE), Type.Array(DevUserSchema)) as Config['devUsers'] : []

  const pendingTtlMs = durationVar(env, 'LOCKBOX_PENDING_TTL', 'PT12H')
  if (pendingTtlMs > MAX_PENDING_TTL_MS) throw new ConfigError(`LOCKBOX_PENDING_TTL: "${read(env, 'LOCKBOX_PENDING_TTL') as string}" is longer than the P30D ceiling`)
  const maxAccessMs = durationVar(env, 'LOCKBOX_MAX_ACCESS', 'PT4H')
  // Only a configured value can pass the ceiling: the default is the ceiling itself.
  if (maxAccessMs > MAX_ACCESS_CEILING_MS) throw new ConfigError(`LOCKBOX_MAX_ACCESS: "${read(env, 'LOCKBOX_MAX_ACCESS') as string}" is longer than the PT4H ceiling`)

  const auditRetentionMs = durationVar(env, 'LOCKBOX_AUDIT_RETENTION', 'P365D')
  if (auditRetentionMs > MAX_RETENTION_MS) throw new ConfigError(`LOCKBOX_AUDIT_RETENTION: "${read(env, 'LOCKBOX_AUDIT_RETENTION') as string}" is longer than the P36500D ceiling`)

  const signingKeyFile = at(read(env, 'LOCKBOX_SIGNING_KEY_FILE') ?? join(dataDir, 'signing-key.json'))

  const webhookUrl = urlVar(env, 'LOCKBOX_WEBHOOK_URL', HTTP)
  const webhookSecret = read(env, 'LOCKBOX_WEBHOOK_SECRET') ?? null
  if (webhookUrl !== null && webhookSecret === null) throw new ConfigError('LOCKBOX_WEBHOOK_SECRET: required when LOCKBOX_WEBHOOK_URL is set')

  const trustProxy = (read(env, 'LOCKBOX_TRUST_PROXY') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const entry of trustProxy) {
    if (!isAddressOrCidr(entry)) throw new ConfigError(`LOCKBOX_TRUST_PROXY: "${entry}" is not an address or CIDR`)
  }

  const logLevel = read(env, 'LOCKBOX_LOG_LEVEL') ?? 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOCKBOX_LOG_LEVEL: "${logLevel}" is not a pino level (fatal, error, warn, info, debug, trace, silent)`)
  }

  const config: LoadedConfig = {
    host,
    port,
    dataDir,
    store,
    redisUrl,
    redisSentinels,
    redisSentinelName: read(env, 'LOCKBOX_REDIS_SENTINEL_NAME') ?? 'mymaster',
    redisClusterNodes,
    tenants,
    oidc,
    devIdTokenTtlMs,
    devUsers,
    providerTenantId,
    upstreams: {
      exchange: urlVar(env, 'LOCKBOX_UPSTREAM_EXCHANGE', HTTP),
      sharepoint: urlVar(env, 'LOCKBOX_UPSTREAM_SHAREPOINT', HTTP),
      onedrive: urlVar(env, 'LOCKBOX_UPSTREAM_ONEDRIVE', HTTP)
    },
    mockRequireSignedApprovals: flagVar(env, 'LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS'),
    upstreamTimeoutMs: durationVar(env, 'LOCKBOX_UPSTREAM_TIMEOUT', 'PT30S'),
    pendingTtlMs,
    maxAccessMs,
    signingKeyFile,
    metricsToken: read(env, 'LOCKBOX_METRICS_TOKEN') ?? null,
    smtpUrl: urlVar(env, 'LOCKBOX_SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read(env, 'LOCKBOX_MAIL_FROM') ?? 'Lockbox Gateway <lockbox@localhost>',
    webhookUrl,
    webhookSecret,
    publicUrl: urlVar(env, 'LOCKBOX_PUBLIC_URL', HTTP) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    auditRetentionMs,
    trustProxy,
    logLevel: logLevel as Config['logLevel'],
    sweepIntervalMs: 1000,
    refusalBudget: {
      perAddress: countVar(env, 'LOCKBOX_REFUSAL_BUDGET', 100),
      perTenant: countVar(env, 'LOCKBOX_REFUSAL_TENANT_BUDGET', 1000),
      windowMs: secondsVar(env, 'LOCKBOX_REFUSAL_WINDOW', 'PT1M'),
      delayMs: delayVar(env, 'LOCKBOX_REFUSAL_DELAY', 'PT0.2S'),
      summaryIntervalMs: secondsVar(env, 'LOCKBOX_REFUSAL_SUMMARY_INTERVAL', 'PT10S'),
      maxSources: 1000
    },
    siem: siemVars(env, at),
    workers
  }
  /* c8 ignore next 3 -- every field was checked above; this guards the schema and the loader drifting apart */
  if (!Value.Check(ConfigSchema, config)) {
    throw new ConfigError(`configuration: ${Value.Errors(ConfigSchema, config)[0]?.message ?? 'invalid'}`)
  }
  return config
}
