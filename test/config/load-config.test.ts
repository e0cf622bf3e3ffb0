// Configuration from the environment (API.md §8): defaults, every variable, and a one-line
// ConfigError naming the variable for every bad value.
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, loadConfig } from '../../config/load-config.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SHIPPED_TENANTS = JSON.parse(readFileSync(join(ROOT, 'config/tenants.json'), 'utf8'))
const SHIPPED_DEV_USERS = JSON.parse(readFileSync(join(ROOT, 'config/dev-users.json'), 'utf8'))

const HOUR = 3_600_000
const DAY = 24 * HOUR

type Env = Record<string, string | undefined>

const OIDC: Env = {
  LOCKBOX_OIDC_ISSUER: 'https://login.example.com/v2.0',
  LOCKBOX_OIDC_AUDIENCE: 'api://lockbox',
  LOCKBOX_OIDC_JWKS_URL: 'https://login.example.com/keys'
}

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function writeJson (dir: string, name: string, value: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}

function configError (env: Env, cwd = ROOT): ConfigError {
  try {
    loadConfig(env, cwd)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loadConfig accepted the environment')
}

/** Asserts start-up stops with one line that starts with the variable's name. */
function rejects (t: Test, env: Env, variable: string, mentions?: string | RegExp, cwd = ROOT): void {
  const err = configError(env, cwd)
  t.equal(err.name, 'ConfigError')
  t.ok(err.message.startsWith(`${variable}: `), `"${err.message}" names ${variable}`)
  t.notMatch(err.message, /[\r\n]/, 'one line')
  if (mentions !== undefined) t.match(err.message, mentions)
}

t.test('uses the documented defaults for an empty environment', async (t) => {
  const config = loadConfig({}, ROOT)
  t.strictSame(config, {
    host: '127.0.0.1',
    port: 8080,
    dataDir: resolve(ROOT, 'data'),
    store: 'embedded',
    redisUrl: 'redis://127.0.0.1:6379',
    redisSentinels: [],
    redisSentinelName: 'mymaster',
    redisClusterNodes: [],
    tenants: SHIPPED_TENANTS,
    oidc: null,
    devIdTokenTtlMs: HOUR,
    devUsers: SHIPPED_DEV_USERS,
    providerTenantId: 'provider',
    upstreams: { exchange: null, sharepoint: null, onedrive: null },
    mockRequireSignedApprovals: false,
    upstreamTimeoutMs: 30_000,
    pendingTtlMs: 12 * HOUR,
    maxAccessMs: 4 * HOUR,
    signingKeyFile: resolve(ROOT, 'data', 'signing-key.json'),
    metricsToken: null,
    smtpUrl: null,
    mailFrom: 'Lockbox Gateway <lockbox@localhost>',
    webhookUrl: null,
    webhookSecret: null,
    publicUrl: 'http://127.0.0.1:8080',
    auditRetentionMs: 365 * DAY,
    trustProxy: [],
    logLevel: 'info',
    sweepIntervalMs: 1000,
    refusalBudget: { perAddress: 100, perTenant: 1000, windowMs: 60_000, delayMs: 200, summaryIntervalMs: 10_000, maxSources: 1000 },
    siem: { hecUrl: null, hecToken: null, syslogUrl: null, format: 'ocsf', ca: null },
    workers: 1
  })
})

t.test('ships contoso and fabrikam with lockbox on', async (t) => {
  const { tenants } = loadConfig({}, ROOT)
  for (const id of ['contoso', 'fabrikam']) t.equal(tenants.find((x) => x.id === id)?.lockboxEnabled, true, id)
})

t.test('anchors relative paths at the process directory by default', async (t) => {
  const config = loadConfig({})
  t.equal(config.dataDir, resolve(process.cwd(), 'data'))
})

t.test('treats blank variables as unset', async (t) => {
  const config = loadConfig({ LOCKBOX_PORT: '', LOCKBOX_STORE: '   ', LOCKBOX_PENDING_TTL: ' ', LOCKBOX_WEBHOOK_URL: '' }, ROOT)
  t.equal(config.port, 8080)
  t.equal(config.store, 'embedded')
  t.equal(config.pendingTtlMs, 12 * HOUR)
  t.equal(config.webhookUrl, null)
})

t.test('reads every variable', async (t) => {
  const dir = tempDir(t)
  writeJson(dir, 'tenants.json', [
    { id: 'woodgrove', displayName: 'Woodgrove Bank', lockboxEnabled: false, approverEmails: ['sec@woodgrove.example'] }
  ])
  writeFileSync(join(dir, 'siem-ca.pem'), '-----BEGIN CERTIFICATE-----\n')
  const config = loadConfig({
    ...OIDC,
    LOCKBOX_HOST: ' 0.0.0.0 ',
    LOCKBOX_PORT: '9090',
    LOCKBOX_DATA_DIR: 'var/lockbox',
    LOCKBOX_STORE: 'redis',
    LOCKBOX_REDIS_URL: 'redis://cache.internal:6380/2',
    LOCKBOX_REDIS_SENTINELS: 'sentinel-a.internal:26380, [fd00::7]:26379,sentinel-c.internal,',
    LOCKBOX_REDIS_SENTINEL_NAME: 'lockbox-main',
    LOCKBOX_TENANTS_FILE: 'tenants.json',
    LOCKBOX_PROVIDER_TENANT_ID: 'acme-support',
    LOCKBOX_UPSTREAM_EXCHANGE: 'http://exchange.internal:8081/',
    LOCKBOX_UPSTREAM_SHAREPOINT: 'https://sharepoint.internal//',
    LOCKBOX_UPSTREAM_ONEDRIVE: 'http://onedrive.internal:8083/base',
    LOCKBOX_PENDING_TTL: 'PT30M',
    LOCKBOX_UPSTREAM_TIMEOUT: 'PT5S',
    LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS: 'true',
    LOCKBOX_MAX_ACCESS: 'PT1H30M',
    LOCKBOX_SIGNING_KEY_FILE: join(dir, 'keys', 'signing.json'),
    LOCKBOX_METRICS_TOKEN: 'scrape-me',
    LOCKBOX_REFUSAL_BUDGET: '20',
    LOCKBOX_REFUSAL_TENANT_BUDGET: ' 500 ',
    LOCKBOX_REFUSAL_WINDOW: 'PT5M',
    LOCKBOX_REFUSAL_DELAY: 'PT1.5S',
    LOCKBOX_REFUSAL_SUMMARY_INTERVAL: 'PT1S',
    LOCKBOX_SMTP_URL: 'smtp://mail.internal:2525',
    LOCKBOX_MAIL_FROM: 'Lockbox <lockbox@acme.example>',
    LOCKBOX_WEBHOOK_URL: 'https://hooks.example/lockbox',
    LOCKBOX_WEBHOOK_SECRET: 's3cret',
    LOCKBOX_PUBLIC_URL: 'https://lockbox.acme.example/',
    LOCKBOX_AUDIT_RETENTION: 'P30D',
    LOCKBOX_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,,::1, fd00::/8',
    LOCKBOX_LOG_LEVEL: 'debug',
    LOCKBOX_WORKERS: '3',
    LOCKBOX_DEV_ID_TOKEN_TTL: 'PT5M',
    LOCKBOX_SIEM_HEC_URL: 'https://splunk.internal:8088/',
    LOCKBOX_SIEM_HEC_TOKEN: ' 7d3b-hec ',
    LOCKBOX_SIEM_SYSLOG_URL: 'tls://relay.internal:6514',
    LOCKBOX_SIEM_FORMAT: 'native',
    LOCKBOX_SIEM_CA_FILE: 'siem-ca.pem',
    UNRELATED: 'ignored'
  }, dir)
  t.strictSame(config, {
    host: '0.0.0.0',
    port: 9090,
    dataDir: join(dir, 'var', 'lockbox'),
    store: 'redis',
    redisUrl: 'redis://cache.internal:6380/2',
    redisSentinels: [{ host: 'sentinel-a.internal', port: 26380 }, { host: 'fd00::7', port: 26379 }, { host: 'sentinel-c.internal', port: 26379 }],
    redisSentinelName: 'lockbox-main',
    redisClusterNodes: [],
    tenants: [{ id: 'woodgrove', displayName: 'Woodgrove Bank', lockboxEnabled: false, approverEmails: ['sec@woodgrove.example'] }],
    oidc: { issuer: 'https://login.example.com/v2.0', audience: 'api://lockbox', jwksUrl: 'https://login.example.com/keys' },
    devIdTokenTtlMs: 300_000,
    devUsers: [],
    providerTenantId: 'acme-support',
    upstreams: {
      exchange: 'http://exchange.internal:8081',
      sharepoint: 'https://sharepoint.internal',
      onedrive: 'http://onedrive.internal:8083/base'
    },
    mockRequireSignedApprovals: true,
    upstreamTimeoutMs: 5000,
    pendingTtlMs: 30 * 60_000,
    maxAccessMs: 90 * 60_000,
    signingKeyFile: join(dir, 'keys', 'signing.json'),
    metricsToken: 'scrape-me',
    smtpUrl: 'smtp://mail.internal:2525',
    mailFrom: 'Lockbox <lockbox@acme.example>',
    webhookUrl: 'https://hooks.example/lockbox',
    webhookSecret: 's3cret',
    publicUrl: 'https://lockbox.acme.example',
    auditRetentionMs: 30 * DAY,
    trustProxy: ['10.0.0.1', '192.168.0.0/16', '::1', 'fd00::/8'],
    logLevel: 'debug',
    sweepIntervalMs: 1000,
    refusalBudget: { perAddress: 20, perTenant: 500, windowMs: 300_000, delayMs: 1500, summaryIntervalMs: 1000, maxSources: 1000 },
    siem: { hecUrl: 'https://splunk.internal:8088', hecToken: '7d3b-hec', syslogUrl: 'tls://relay.internal:6514', format: 'native', ca: '-----BEGIN CERTIFICATE-----\n' },
    workers: 3
  })
})

t.test('sends nothing to a SIEM unless told to, and refuses a SIEM setting it cannot use', async (t) => {
  t.same(loadConfig({}, ROOT).siem, { hecUrl: null, hecToken: null, syslogUrl: null, format: 'ocsf', ca: null })
  rejects(t, { LOCKBOX_SIEM_HEC_URL: 'https://splunk.internal:8088' }, 'LOCKBOX_SIEM_HEC_TOKEN', /LOCKBOX_SIEM_HEC_URL/)
  rejects(t, { LOCKBOX_SIEM_HEC_URL: 'splunk.internal:8088', LOCKBOX_SIEM_HEC_TOKEN: 'x' }, 'LOCKBOX_SIEM_HEC_URL')
  rejects(t, { LOCKBOX_SIEM_SYSLOG_URL: 'udp://relay.internal:514' }, 'LOCKBOX_SIEM_SYSLOG_URL', /tcp: or tls:/)
  rejects(t, { LOCKBOX_SIEM_FORMAT: 'cef' }, 'LOCKBOX_SIEM_FORMAT', /ocsf, native, o365/)
  rejects(t, { LOCKBOX_SIEM_CA_FILE: 'no-such-ca.pem' }, 'LOCKBOX_SIEM_CA_FILE', /cannot read/)
})

t.test('keeps the signing key in the data dir by default', async (t) => {
  const dir = tempDir(t)
  const config = loadConfig({ LOCKBOX_DATA_DIR: join(dir, 'state') }, ROOT)
  t.equal(config.dataDir, join(dir, 'state'))
  t.equal(config.signingKeyFile, join(dir, 'state', 'signing-key.json'))
})

t.test('derives the public URL from host and port', async (t) => {
  t.equal(loadConfig({ LOCKBOX_HOST: 'lockbox.internal', LOCKBOX_PORT: '443' }, ROOT).publicUrl, 'http://lockbox.internal:443')
  t.equal(loadConfig({ LOCKBOX_HOST: '::1', LOCKBOX_PORT: '0' }, ROOT).publicUrl, 'http://[::1]:0', 'IPv6 in brackets')
})

t.test('accepts the boundaries of ports and durations', async (t) => {
  t.equal(loadConfig({ LOCKBOX_PORT: '0' }, ROOT).port, 0)
  t.equal(loadConfig({ LOCKBOX_PORT: '65535' }, ROOT).port, 65535)
  t.equal(loadConfig({ LOCKBOX_MAX_ACCESS: 'PT4H' }, ROOT).maxAccessMs, 4 * HOUR)
  t.equal(loadConfig({ LOCKBOX_MAX_ACCESS: 'PT240M' }, ROOT).maxAccessMs, 4 * HOUR)
  t.equal(loadConfig({ LOCKBOX_MAX_ACCESS: 'PT0.5S' }, ROOT).maxAccessMs, 500)
  t.equal(loadConfig({ LOCKBOX_PENDING_TTL: 'P2W' }, ROOT).pendingTtlMs, 14 * DAY)
  t.equal(loadConfig({ LOCKBOX_AUDIT_RETENTION: 'P1DT12H' }, ROOT).auditRetentionMs, 36 * HOUR)
})

t.test('accepts every pino level', async (t) => {
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
    t.equal(loadConfig({ LOCKBOX_LOG_LEVEL: level }, ROOT).logLevel, level)
  }
})

t.test('reads the seed nodes of a Redis Cluster, port 6379 unless given', async (t) => {
  const config = loadConfig({ LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: 'rediss://:pw@redis.internal/0', LOCKBOX_REDIS_CLUSTER_NODES: '10.0.0.5:7000,10.0.0.6, [::1]:7002' }, ROOT)
  t.strictSame(config.redisClusterNodes, [{ host: '10.0.0.5', port: 7000 }, { host: '10.0.0.6', port: 6379 }, { host: '::1', port: 7002 }])
  t.strictSame(config.redisSentinels, [])
  t.equal(loadConfig({ LOCKBOX_REDIS_CLUSTER_NODES: 'a:1', LOCKBOX_REDIS_URL: 'redis://a:1' }, ROOT).redisUrl, 'redis://a:1')
})

t.test('rejects Redis nodes that are not host:port, and topologies that cannot be', async (t) => {
  for (const variable of ['LOCKBOX_REDIS_SENTINELS', 'LOCKBOX_REDIS_CLUSTER_NODES']) {
    for (const value of ['host:port', 'host:0', 'host:65536', 'a:1:2', '[::1', 'fd00::1:7000', 'two words:1']) {
      rejects(t, { [variable]: value }, variable, /is not host:port/)
    }
  }
  rejects(t, { LOCKBOX_REDIS_SENTINELS: 's:26379', LOCKBOX_REDIS_CLUSTER_NODES: 'n:6379' }, 'LOCKBOX_REDIS_CLUSTER_NODES', /not both/)
  rejects(t, { LOCKBOX_REDIS_CLUSTER_NODES: 'n:6379', LOCKBOX_REDIS_URL: 'redis://n:6379/3' }, 'LOCKBOX_REDIS_URL', /database 0 only/)
})

t.test('rejects an unknown store', async (t) => {
  rejects(t, { LOCKBOX_STORE: 'postgres' }, 'LOCKBOX_STORE', /"postgres"/)
  rejects(t, { LOCKBOX_STORE: 'Redis' }, 'LOCKBOX_STORE')
})

t.test('rejects a bad port', async (t) => {
  for (const port of ['http', '65536', '123456', '-1', '80.5', '8080a', '0x50']) {
    rejects(t, { LOCKBOX_PORT: port }, 'LOCKBOX_PORT', port)
  }
})

t.test('rejects a malformed or non-positive duration', async (t) => {
  for (const variable of ['LOCKBOX_PENDING_TTL', 'LOCKBOX_MAX_ACCESS', 'LOCKBOX_AUDIT_RETENTION']) {
    for (const value of ['12 hours', 'PT', 'P1Y', 'P1M', 'PT-1H', 'PT0S', 'P0D', '12']) {
      rejects(t, { [variable]: value }, variable, `"${value}"`)
    }
  }
})

t.test('names the variable when a duration is too long to count', async (t) => {
  const huge = 'P' + '9'.repeat(400) + 'D'
  for (const variable of ['LOCKBOX_PENDING_TTL', 'LOCKBOX_MAX_ACCESS', 'LOCKBOX_AUDIT_RETENTION']) {
    rejects(t, { [variable]: huge }, variable, /not a positive ISO 8601 duration/)
  }
})

t.test('rejects a decision window above P30D and a retention above P36500D', async (t) => {
  t.equal(loadConfig({ LOCKBOX_PENDING_TTL: 'P30D' }, ROOT).pendingTtlMs, 30 * DAY)
  rejects(t, { LOCKBOX_PENDING_TTL: 'P30DT1S' }, 'LOCKBOX_PENDING_TTL', /P30D ceiling/)
  t.equal(loadConfig({ LOCKBOX_AUDIT_RETENTION: 'P36500D' }, ROOT).auditRetentionMs, 36500 * DAY)
  rejects(t, { LOCKBOX_AUDIT_RETENTION: 'P36501D' }, 'LOCKBOX_AUDIT_RETENTION', /P36500D ceiling/)
})

t.test('rejects an access window ceiling above PT4H', async (t) => {
  for (const value of ['PT4H0.001S', 'PT5H', 'PT241M', 'P1D', 'P1W']) {
    rejects(t, { LOCKBOX_MAX_ACCESS: value }, 'LOCKBOX_MAX_ACCESS', /PT4H/)
  }
})

t.test('rejects an unreadable tenants file', async (t) => {
  const dir = tempDir(t)
  rejects(t, { LOCKBOX_TENANTS_FILE: join(dir, 'missing.json') }, 'LOCKBOX_TENANTS_FILE', /ENOENT/)
  rejects(t, { LOCKBOX_TENANTS_FILE: dir }, 'LOCKBOX_TENANTS_FILE', /EISDIR/)
  rejects(t, { LOCKBOX_TENANTS_FILE: 'nowhere/tenants.json' }, 'LOCKBOX_TENANTS_FILE', 'nowhere', dir)
})

t.test('rejects a tenants file that is not JSON', async (t) => {
  const dir = tempDir(t)
  for (const text of ['', '[{"id": "contoso",', 'tenants:\n  - contoso\n']) {
    rejects(t, { LOCKBOX_TENANTS_FILE: writeJson(dir, 'tenants.json', text) }, 'LOCKBOX_TENANTS_FILE', /not valid JSON/)
  }
})

t.test('rejects a tenants file with a bad entry', async (t) => {
  const dir = tempDir(t)
  const good = { id: 'contoso', displayName: 'Contoso', lockboxEnabled: true, approverEmails: ['a@contoso.com'] }
  const bad: unknown[] = [
    { tenants: [good] },
    [{ ...good, id: 'Contoso' }],
    [{ ...good, id: 'contoso/../x' }],
    [{ ...good, id: '' }],
    [{ ...good, displayName: '' }],
    [{ ...good, lockboxEnabled: 'yes' }],
    [{ id: 'contoso', displayName: 'Contoso', approverEmails: [] }],
    [{ ...good, approverEmails: 'a@contoso.com' }],
    [{ ...good, approverEmails: [''] }],
    [{ ...good, region: 'eu' }],
    [good, null]
  ]
  for (const value of bad) {
    rejects(t, { LOCKBOX_TENANTS_FILE: writeJson(dir, 'tenants.json', value) }, 'LOCKBOX_TENANTS_FILE', /is invalid at/)
  }
})

t.test('rejects a tenant defined twice', async (t) => {
  const dir = tempDir(t)
  const entry = { id: 'contoso', displayName: 'Contoso', lockboxEnabled: true, approverEmails: [] }
  const path = writeJson(dir, 'tenants.json', [entry, { ...entry, displayName: 'Contoso again' }])
  rejects(t, { LOCKBOX_TENANTS_FILE: path }, 'LOCKBOX_TENANTS_FILE', /"contoso" is defined twice/)
})

t.test('rejects a provider tenant id that is also a customer tenant', async (t) => {
  rejects(t, { LOCKBOX_PROVIDER_TENANT_ID: 'contoso' }, 'LOCKBOX_PROVIDER_TENANT_ID', /"contoso"/)
  const dir = tempDir(t)
  const path = writeJson(dir, 'tenants.json', [{ id: 'provider', displayName: 'Provider', lockboxEnabled: true, approverEmails: [] }])
  rejects(t, { LOCKBOX_TENANTS_FILE: path }, 'LOCKBOX_PROVIDER_TENANT_ID', /"provider"/)
})

t.test('rejects an OIDC issuer without audience or client id, or with a bad JWKS URL', async (t) => {
  rejects(t, { ...OIDC, LOCKBOX_OIDC_AUDIENCE: undefined }, 'LOCKBOX_OIDC_AUDIENCE', /LOCKBOX_OIDC_ISSUER/)
  rejects(t, { ...OIDC, LOCKBOX_OIDC_AUDIENCE: ' ' }, 'LOCKBOX_OIDC_AUDIENCE')
  rejects(t, { ...OIDC, LOCKBOX_OIDC_JWKS_URL: 'keys.json' }, 'LOCKBOX_OIDC_JWKS_URL', /not a URL/)
  rejects(t, { ...OIDC, LOCKBOX_OIDC_ISSUER: 'login.example.com' }, 'LOCKBOX_OIDC_ISSUER', /not a URL/)
  rejects(t, { ...OIDC, LOCKBOX_OIDC_SCOPES: 'profile email' }, 'LOCKBOX_OIDC_SCOPES', /openid/)
})

t.test('reads the sign-in client, scopes and name; the audience defaults to the client id; the JWKS URL to discovery', async (t) => {
  const config = loadConfig({
    LOCKBOX_OIDC_ISSUER: 'https://idp.example/realms/acme/',
    LOCKBOX_OIDC_CLIENT_ID: 'lockbox',
    LOCKBOX_OIDC_SCOPES: 'openid, profile offline_access',
    LOCKBOX_OIDC_NAME: 'Acme SSO'
  }, ROOT)
  t.strictSame(config.oidc, { issuer: 'https://idp.example/realms/acme/', audience: 'lockbox', clientId: 'lockbox', scopes: 'openid profile offline_access', name: 'Acme SSO' })
})

t.test('reads the dev provider\'s identity token lifetime', async (t) => {
  t.equal(loadConfig({ LOCKBOX_DEV_ID_TOKEN_TTL: 'PT2M' }, ROOT).devIdTokenTtlMs, 120_000)
  rejects(t, { LOCKBOX_DEV_ID_TOKEN_TTL: 'PT0.5S' }, 'LOCKBOX_DEV_ID_TOKEN_TTL', /one second/)
})

t.test('ignores audience and JWKS URL without an issuer', async (t) => {
  const config = loadConfig({ LOCKBOX_OIDC_AUDIENCE: 'api://lockbox', LOCKBOX_OIDC_JWKS_URL: 'not a url' }, ROOT)
  t.equal(config.oidc, null)
  t.strictSame(config.devUsers, SHIPPED_DEV_USERS)
})

t.test('rejects a URL that does not parse', async (t) => {
  for (const variable of [
    'LOCKBOX_REDIS_URL',
    'LOCKBOX_UPSTREAM_EXCHANGE',
    'LOCKBOX_UPSTREAM_SHAREPOINT',
    'LOCKBOX_UPSTREAM_ONEDRIVE',
    'LOCKBOX_SMTP_URL',
    'LOCKBOX_PUBLIC_URL'
  ]) {
    for (const value of ['not a url', '//host-only', 'http://', '/relative/path']) {
      rejects(t, { [variable]: value }, variable, /not a URL/)
    }
  }
  rejects(t, { LOCKBOX_WEBHOOK_URL: 'hooks.example/lockbox', LOCKBOX_WEBHOOK_SECRET: 'x' }, 'LOCKBOX_WEBHOOK_URL', /not a URL/)
})

t.test('rejects a URL with the wrong scheme, such as a host:port without one', async (t) => {
  const cases: Array<[string, string, Env?]> = [
    ['LOCKBOX_REDIS_URL', 'localhost:6379'],
    ['LOCKBOX_REDIS_URL', 'http://127.0.0.1:6379'],
    ['LOCKBOX_UPSTREAM_EXCHANGE', 'localhost:8081'],
    ['LOCKBOX_UPSTREAM_SHAREPOINT', 'ftp://sharepoint.internal'],
    ['LOCKBOX_UPSTREAM_ONEDRIVE', 'file:///srv/onedrive'],
    ['LOCKBOX_SMTP_URL', 'mail.internal:25'],
    ['LOCKBOX_SMTP_URL', 'https://mail.internal'],
    ['LOCKBOX_PUBLIC_URL', 'lockbox.example:443'],
    ['LOCKBOX_WEBHOOK_URL', 'hooks.example:443', { LOCKBOX_WEBHOOK_SECRET: 'x' }],
    ['LOCKBOX_OIDC_JWKS_URL', 'login.example.com:443', OIDC]
  ]
  for (const [variable, value, extra] of cases) {
    rejects(t, { ...extra, [variable]: value }, variable, /not a URL with scheme/)
  }
})

t.test('accepts the schemes each URL is for', async (t) => {
  const config = loadConfig({
    LOCKBOX_REDIS_URL: 'rediss://:pw@cache.internal:6380',
    LOCKBOX_SMTP_URL: 'smtps://user:pw@mail.internal:465',
    LOCKBOX_UPSTREAM_EXCHANGE: 'https://exchange.internal',
    LOCKBOX_PUBLIC_URL: 'http://127.0.0.1:8080'
  }, ROOT)
  t.equal(config.redisUrl, 'rediss://:pw@cache.internal:6380')
  t.equal(config.smtpUrl, 'smtps://user:pw@mail.internal:465')
  t.equal(config.upstreams.exchange, 'https://exchange.internal')
  t.equal(config.publicUrl, 'http://127.0.0.1:8080')
})

t.test('rejects a webhook URL without a secret', async (t) => {
  rejects(t, { LOCKBOX_WEBHOOK_URL: 'https://hooks.example/lockbox' }, 'LOCKBOX_WEBHOOK_SECRET', /LOCKBOX_WEBHOOK_URL/)
  rejects(t, { LOCKBOX_WEBHOOK_URL: 'https://hooks.example/lockbox', LOCKBOX_WEBHOOK_SECRET: '  ' }, 'LOCKBOX_WEBHOOK_SECRET')
})

t.test('rejects a trusted proxy that is not an address or CIDR', async (t) => {
  const entries = [
    'proxy.example', 'loopback', '*', '10.0.0.1 10.0.0.2', '10.0.0.300', '10.0.0', 'cafe', ':::', '::1::2',
    '10.0.0.1/abc', '10.0.0.0/33', '::/129', '10.0.0.0/', '/8', '10.0.0.0/8/9', '10.0.0.0/0008'
  ]
  for (const entry of entries) {
    rejects(t, { LOCKBOX_TRUST_PROXY: `127.0.0.1,${entry}` }, 'LOCKBOX_TRUST_PROXY', entry)
  }
})

t.test('accepts addresses and CIDRs of either family as trusted proxies', async (t) => {
  const entries = ['127.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.0/32', '::1', 'fd00::/8', '::/0', '2001:db8::/128', '::ffff:10.0.0.1']
  t.strictSame(loadConfig({ LOCKBOX_TRUST_PROXY: entries.join(',') }, ROOT).trustProxy, entries)
})

t.test('rejects a refusal budget that is not a positive whole number, its windows under a second and a delay above PT10S', async (t) => {
  for (const variable of ['LOCKBOX_REFUSAL_BUDGET', 'LOCKBOX_REFUSAL_TENANT_BUDGET']) {
    for (const text of ['0', '-1', '1.5', 'many', '1e3', '9999999999']) rejects(t, { [variable]: text }, variable, 'positive whole number')
  }
  for (const variable of ['LOCKBOX_REFUSAL_WINDOW', 'LOCKBOX_REFUSAL_SUMMARY_INTERVAL']) {
    rejects(t, { [variable]: 'PT0.5S' }, variable, 'shorter than PT1S')
    rejects(t, { [variable]: '60' }, variable, 'ISO 8601 duration')
  }
  t.equal(loadConfig({ LOCKBOX_REFUSAL_BUDGET: '1', LOCKBOX_REFUSAL_WINDOW: 'PT1S' }, ROOT).refusalBudget.windowMs, 1000)
  for (const text of ['PT10.001S', 'PT1M', 'soon']) rejects(t, { LOCKBOX_REFUSAL_DELAY: text }, 'LOCKBOX_REFUSAL_DELAY', 'from PT0S to PT10S')
  t.equal(loadConfig({ LOCKBOX_REFUSAL_DELAY: 'PT0S' }, ROOT).refusalBudget.delayMs, 0, 'no wait at all')
  t.equal(loadConfig({ LOCKBOX_REFUSAL_DELAY: 'PT10S' }, ROOT).refusalBudget.delayMs, 10_000)
})

t.test('rejects an unknown log level', async (t) => {
  rejects(t, { LOCKBOX_LOG_LEVEL: 'verbose' }, 'LOCKBOX_LOG_LEVEL', /"verbose"/)
  rejects(t, { LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS: 'yes' }, 'LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS', /"yes"/)
  t.equal(loadConfig({ LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS: '0' }, ROOT).mockRequireSignedApprovals, false)
  t.equal(loadConfig({ LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS: '1' }, ROOT).mockRequireSignedApprovals, true)
  rejects(t, { LOCKBOX_LOG_LEVEL: 'INFO' }, 'LOCKBOX_LOG_LEVEL')
})

t.test('LOCKBOX_WORKERS: a number of processes, or auto for one per core', async (t) => {
  const redis = { LOCKBOX_STORE: 'redis' }
  t.equal(loadConfig({ ...redis, LOCKBOX_WORKERS: '2' }, ROOT).workers, 2)
  t.equal(loadConfig({ ...redis, LOCKBOX_WORKERS: 'auto' }, ROOT).workers, availableParallelism())
  t.equal(loadConfig({ LOCKBOX_WORKERS: '1' }, ROOT).workers, 1)
  for (const bad of ['0', '-1', '1.5', 'two', 'AUTO', '257', '1000']) rejects(t, { ...redis, LOCKBOX_WORKERS: bad }, 'LOCKBOX_WORKERS', `"${bad}"`)
})

t.test('LOCKBOX_WORKERS above 1 runs on either store: several processes share one data dir', async (t) => {
  t.equal(loadConfig({ LOCKBOX_WORKERS: '2' }, ROOT).workers, 2)
  t.equal(loadConfig({ LOCKBOX_WORKERS: 'auto' }, ROOT).workers, availableParallelism())
})

t.test('reads dev users from LOCKBOX_DEV_USERS_FILE, relative to the working directory', async (t) => {
  const dir = tempDir(t)
  const users = [{ id: 'u1', name: 'User One', email: 'u1@contoso.com', tid: 'contoso', roles: ['GlobalAdministrator'] }]
  writeJson(dir, 'users.json', users)
  writeJson(dir, 'tenants.json', SHIPPED_TENANTS)
  const config = loadConfig({ LOCKBOX_DEV_USERS_FILE: 'users.json', LOCKBOX_TENANTS_FILE: 'tenants.json' }, dir)
  t.strictSame(config.devUsers, users)
})

t.test('rejects an unreadable or invalid dev users file', async (t) => {
  const dir = tempDir(t)
  rejects(t, { LOCKBOX_DEV_USERS_FILE: join(dir, 'missing.json') }, 'LOCKBOX_DEV_USERS_FILE', /ENOENT/)
  rejects(t, { LOCKBOX_DEV_USERS_FILE: writeJson(dir, 'users.json', '{') }, 'LOCKBOX_DEV_USERS_FILE', /not valid JSON/)
  rejects(t, { LOCKBOX_DEV_USERS_FILE: writeJson(dir, 'users.json', [{ id: 'u1' }]) }, 'LOCKBOX_DEV_USERS_FILE', /is invalid at/)
})

t.test('runs without dev users and never reads their file once OIDC is configured', async (t) => {
  const dir = tempDir(t)
  const config = loadConfig({ ...OIDC, LOCKBOX_DEV_USERS_FILE: join(dir, 'missing.json') }, ROOT)
  t.strictSame(config.devUsers, [])
  t.strictSame(config.oidc, { issuer: OIDC.LOCKBOX_OIDC_ISSUER, audience: OIDC.LOCKBOX_OIDC_AUDIENCE, jwksUrl: OIDC.LOCKBOX_OIDC_JWKS_URL })
})
