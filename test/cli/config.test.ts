// Profile storage: where it lives, 0600 files written whole, expired access tokens dropped.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { configDir, latestAccessToken, ProfileStore, type StoredAccessToken } from '../../src/cli/config.js'
import { tempDir } from '../helpers/config.js'

const NOW = Date.parse('2026-11-24T09:00:00.000Z')

function stored (requestId: string, fields: Partial<StoredAccessToken> = {}): StoredAccessToken {
  return { requestId, tenantId: 'contoso', workload: 'exchange', scope: '/', accessLevel: 'read', accessToken: `token-${requestId}`, expiresAt: '2026-11-24T11:00:00.000Z', storedAt: '2026-11-24T09:00:00.000Z', ...fields }
}

t.test('finds the config directory: LOCKBOX_CONFIG_DIR, XDG_CONFIG_HOME, then ~/.config', async (t) => {
  t.equal(configDir({ LOCKBOX_CONFIG_DIR: '/x/lockbox', XDG_CONFIG_HOME: '/y' }), '/x/lockbox')
  t.equal(configDir({ LOCKBOX_CONFIG_DIR: '', XDG_CONFIG_HOME: '/y' }), join('/y', 'lockbox'))
  t.equal(configDir({ XDG_CONFIG_HOME: '' }), join(homedir(), '.config', 'lockbox'))
  t.equal(configDir({}), join(homedir(), '.config', 'lockbox'))
})

t.test('writes a profile 0600 in a 0700 directory, without expired tokens or temp files', async (t) => {
  const dir = tempDir('lockbox-cli-')
  t.teardown(dir.remove)
  const store = new ProfileStore(join(dir.path, 'nested', 'lockbox'), 'work')
  t.same(store.load(), { accessTokens: {} }, 'a missing profile is empty')
  store.save({ url: 'http://gw', accessTokens: { a: stored('a'), old: stored('old', { expiresAt: '2026-11-24T08:59:59.000Z' }) } }, NOW)
  t.equal(statSync(store.dir).mode & 0o777, 0o700)
  t.equal(statSync(store.file).mode & 0o777, 0o600)
  t.same(readdirSync(store.dir), ['work.json'])
  t.same(Object.keys(JSON.parse(readFileSync(store.file, 'utf8')).accessTokens), ['a'])
  t.same(store.load(), { url: 'http://gw', accessTokens: { a: stored('a') } })
  t.equal(store.remove(), true)
  t.equal(store.remove(), false)
})

t.test('fills in the access tokens of a profile written without them', async (t) => {
  const dir = tempDir('lockbox-cli-')
  t.teardown(dir.remove)
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(dir.path, 'bare.json'), '{"url":"http://gw"}')
  t.same(new ProfileStore(dir.path, 'bare').load(), { url: 'http://gw', accessTokens: {} })
})

t.test('picks the newest valid token for a workload and tenant', async (t) => {
  const profile = {
    accessTokens: {
      a: stored('a', { storedAt: '2026-11-24T09:00:00.000Z' }),
      b: stored('b', { storedAt: '2026-11-24T09:05:00.000Z' }),
      expired: stored('expired', { storedAt: '2026-11-24T09:10:00.000Z', expiresAt: '2026-11-24T09:00:00.000Z' }),
      other: stored('other', { storedAt: '2026-11-24T09:20:00.000Z', tenantId: 'fabrikam' }),
      drive: stored('drive', { storedAt: '2026-11-24T09:20:00.000Z', workload: 'onedrive' })
    }
  }
  t.equal(latestAccessToken(profile, 'exchange', 'contoso', NOW)?.requestId, 'b')
  t.equal(latestAccessToken(profile, 'sharepoint', 'contoso', NOW), null)
})
