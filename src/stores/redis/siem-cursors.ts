// SIEM delivery cursors on Redis: one hash per tenant and sink (`v` version, `j` JSON), set by a
// compare-and-set script so that of two replicas taking a lease, or advancing one cursor, one wins.
import type { SiemCursor, SiemCursors } from '../types.js'
import type { RedisClient } from './connect.js'
import type { RedisKeys } from './keys.js'

const COMPARE_AND_SET = `
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', version + 1, 'j', ARGV[2])
return 1`

export function redisSiemCursors (client: RedisClient, keys: RedisKeys): SiemCursors {
  return {
    get: async (sink, tenantId) => {
      const text = await client.hget(keys.siemCursor(tenantId, sink), 'j')
      return text === null ? null : JSON.parse(text) as SiemCursor
    },
    put: async (cursor, expectedVersion) => {
      const json = JSON.stringify({ ...cursor, version: expectedVersion + 1 })
      return await client.eval(COMPARE_AND_SET, 1, keys.siemCursor(cursor.tenantId, cursor.sink), expectedVersion, json) === 1
    }
  }
}
