// A Config built from literals: tests never read process.env.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../../config/schema.js'
import devUsers from '../../config/dev-users.json' with { type: 'json' }
import tenants from '../../config/tenants.json' with { type: 'json' }

export function tempDir (prefix = 'lockbox-test-'): { path: string, remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export function testConfig (dataDir: string, overrides: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    store: 'embedded',
    redisUrl: 'redis://127.0.0.1:6379',
    tenants: structuredClone(tenants),
    oidc: null,
    devUsers: structuredClone(devUsers),
    providerTenantId: 'provider',
    upstreams: { exchange: null, sharepoint: null, onedrive: null },
    mockRequireSignedApprovals: false,
    upstreamTimeoutMs: 30_000,
    pendingTtlMs: 12 * 3600_000,
    maxAccessMs: 4 * 3600_000,
    signingKeyFile: join(dataDir, 'signing-key.json'),
    metricsToken: null,
    smtpUrl: null,
    mailFrom: 'Lockbox Gateway <lockbox@localhost>',
    webhookUrl: null,
    webhookSecret: null,
    publicUrl: 'http://127.0.0.1:8080',
    auditRetentionMs: 365 * 24 * 3600_000,
    trustProxy: [],
    logLevel: 'silent',
    sweepIntervalMs: 1000,
    // Tests send many refused requests from one address (127.0.0.1); the budget's own tests set it small.
    refusalBudget: { perAddress: 1_000_000, perTenant: 1_000_000, windowMs: 60_000, delayMs: 0, summaryIntervalMs: 10_000, maxSources: 1000 },
    ...overrides
  }
}
