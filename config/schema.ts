// The resolved configuration: one TypeBox schema, one type. Built from the environment by
// load-config.ts; tests build it from literals (test/helpers/config.ts).
import Type, { type Static } from 'typebox'

export const TenantSchema = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  displayName: Type.String({ minLength: 1 }),
  lockboxEnabled: Type.Boolean(),
  approverEmails: Type.Array(Type.String({ minLength: 3 })),
  requireSignedApprovals: Type.Optional(Type.Boolean()),
  approvalsRequired: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 }))
}, { additionalProperties: false })

export const DevUserSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1 }),
  email: Type.String({ minLength: 3 }),
  tid: Type.String({ minLength: 1 }),
  roles: Type.Array(Type.String())
}, { additionalProperties: false })

export const HostPortSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 })
}, { additionalProperties: false })

/** The budget of content refusals without a valid token (API.md §5; docs/security.md). */
export const RefusalBudgetSchema = Type.Object({
  /** Refusals one client address has answered and recorded one by one per window; past it, 429. */
  perAddress: Type.Integer({ minimum: 1 }),
  /** The same for all addresses together, on one tenant's paths. */
  perTenant: Type.Integer({ minimum: 1 }),
  windowMs: Type.Integer({ minimum: 1000 }),
  /**
   * How long a refusal past the budget waits before its 429 goes out: a flooding client that waits
   * for each answer (a fixed number of connections) is slowed to connections ÷ delay. 0: no wait.
   */
  delayMs: Type.Integer({ minimum: 0, maximum: 10_000 }),
  /** How often the refusals counted past the budget are written, one summary record per source. */
  summaryIntervalMs: Type.Integer({ minimum: 1000 }),
  /** Sources tracked between two summaries; the rest fold into one summary per tenant. */
  maxSources: Type.Integer({ minimum: 1 })
}, { additionalProperties: false })
/** Push delivery of the audit log to a SIEM (src/siem; docs/audit.md "Sending to a SIEM"). */
export const SiemSchema = Type.Object({
  /** Splunk HTTP Event Collector: its base URL (or full event endpoint) and token; null: no HEC sink. */
  hecUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  hecToken: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  /** `tcp://host:port` or `tls://host:port`; null: no syslog sink. */
  syslogUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  /** How each record is rendered: OCSF by default. */
  format: Type.Union([Type.Literal('ocsf'), Type.Literal('native'), Type.Literal('o365')]),
  /** PEM of a private CA the sinks trust (an https collector, a tls syslog relay); null: the system's. */
  ca: Type.Union([Type.String({ minLength: 1 }), Type.Null()])
}, { additionalProperties: false })

/** A bound on LOCKBOX_WORKERS: a typo (10000) must not fork a machine to death. */
export const MAX_WORKERS = 256

export const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  store: Type.Union([Type.Literal('embedded'), Type.Literal('redis')]),
  redisUrl: Type.String({ minLength: 1 }),
  /** Sentinels that know the master named `redisSentinelName`; absent or empty: no Sentinel. */
  redisSentinels: Type.Optional(Type.Array(HostPortSchema)),
  redisSentinelName: Type.Optional(Type.String({ minLength: 1 })),
  /** Seed nodes of a Redis Cluster; absent or empty: not a cluster. */
  redisClusterNodes: Type.Optional(Type.Array(HostPortSchema)),
  tenants: Type.Array(TenantSchema),
  /** Null: the built-in dev issuer signs caller identity tokens. */
  oidc: Type.Union([Type.Null(), Type.Object({
    issuer: Type.String({ minLength: 1 }),
    audience: Type.String({ minLength: 1 }),
    /** Absent: the `jwks_uri` of the issuer's discovery document. */
    jwksUrl: Type.Optional(Type.String({ minLength: 1 })),
    /** The public client the admin center and the CLI sign in with; absent: token pasting only. */
    clientId: Type.Optional(Type.String({ minLength: 1 })),
    /** Space-separated scopes the sign-in asks for. */
    scopes: Type.Optional(Type.String({ minLength: 1 })),
    /** What the sign-in button calls the provider ("Sign in with …"). */
    name: Type.Optional(Type.String({ minLength: 1 }))
  })]),
  /** How long the dev provider's identity tokens live (default one hour). */
  devIdTokenTtlMs: Type.Optional(Type.Integer({ minimum: 1000 })),
  devUsers: Type.Array(DevUserSchema),
  providerTenantId: Type.String({ minLength: 1 }),
  /** Null: served by the built-in mock, started on loopback. */
  upstreams: Type.Object({
    exchange: Type.Union([Type.String(), Type.Null()]),
    sharepoint: Type.Union([Type.String(), Type.Null()]),
    onedrive: Type.Union([Type.String(), Type.Null()])
  }),
  /** The built-in mocks verify approver signatures themselves and refuse content without them (issue 19). */
  mockRequireSignedApprovals: Type.Boolean(),
  /** How long the gateway waits for an upstream's headers, and between body chunks. */
  upstreamTimeoutMs: Type.Integer({ minimum: 1 }),
  pendingTtlMs: Type.Integer({ minimum: 1 }),
  maxAccessMs: Type.Integer({ minimum: 1, maximum: 4 * 3600 * 1000 }),
  signingKeyFile: Type.String({ minLength: 1 }),
  metricsToken: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  smtpUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  mailFrom: Type.String({ minLength: 3 }),
  webhookUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  webhookSecret: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  publicUrl: Type.String({ minLength: 1 }),
  auditRetentionMs: Type.Integer({ minimum: 1 }),
  /** Addresses or CIDRs whose X-Forwarded-* is believed; empty: none. */
  trustProxy: Type.Array(Type.String({ minLength: 1 })),
  logLevel: Type.Union([
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
    Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')
  ]),
  /** How often the sweeper writes down expiries and completions. */
  sweepIntervalMs: Type.Integer({ minimum: 10 }),
  refusalBudget: RefusalBudgetSchema,
  /** Absent: no SIEM push (tests leave it out). */
  siem: Type.Optional(SiemSchema),
  /** Gateway processes on this machine (LOCKBOX_WORKERS); absent: 1. */
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_WORKERS }))
})

export type Config = Static<typeof ConfigSchema>
export type TenantConfig = Static<typeof TenantSchema>
export type DevUser = Static<typeof DevUserSchema>
export type RefusalBudgetConfig = Static<typeof RefusalBudgetSchema>
export type SiemConfig = Static<typeof SiemSchema>

export const MAX_ACCESS_CEILING_MS = 4 * 3600 * 1000
