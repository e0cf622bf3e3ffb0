// The Lua scripts that make the Redis store's multi-key steps atomic, and how they are run: by SHA,
// falling back to the source when the server does not know it (after a restart or a failover).
// Every key a script touches is passed in KEYS, all in one tenant's hash slot, so a Cluster runs them.
import { createHash } from 'node:crypto'
import type { RedisClient } from './connect.js'

export interface LuaScript { lua: string, sha: string }

function script (lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

/**
 * Compare-and-set of a batch of changes plus their audit records, in one step.
 * KEYS[1] audit head, KEYS[2] audit stream, KEYS[3] audit-by-request index, KEYS[4…] what the plan
 * names by position. ARGV[1] the plan (JSON), ARGV[2] grant channel, ARGV[3] audit channel,
 * ARGV[4] origin, ARGV[5…] the JSON texts (values and records) the plan names by position.
 * A change may name a grant that must still be Approved (`q`: the request's key position and the
 * caller's now as ISO text, which compares as text with the stored `accessEndsAt`): checked here,
 * against the stored (or this batch's staged) request, so no replica can slip an access past a revoke.
 * Answers {'head', seq, hash, ms} when the chain moved on since the client sealed the records,
 * {'refused', n, i…, j, status, …} with the n changes whose versions are stale and then the changes
 * whose grant ended, each with the status that ended it ('' for no such request; nothing written
 * either way), or {'ok'} once all of it is written and each change's grant events (`g`: request id
 * and status, as the workflow decided them) are published on the grant channel.
 */
export const COMMIT = script(`
local plan = cjson.decode(ARGV[1])
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash', 'ms')
local seq = head[1] or '0'
local hash = head[2] or string.rep('0', 64)
if seq ~= plan.h[1] or hash ~= plan.h[2] then
  return {'head', seq, hash, head[3] or '0'}
end

local staged = {}
local failed = {}
local ended = {}
local function endedBy (guard)
  local status, json
  local current = staged[guard[1]]
  if current then
    status, json = current.s, ARGV[current.j]
  else
    local stored = redis.call('HMGET', KEYS[guard[1]], 's', 'j')
    status, json = stored[1], stored[2]
  end
  if not status or not json then return '' end
  if status ~= 'Approved' then return status end
  local endsAt = cjson.decode(json).accessEndsAt
  if type(endsAt) == 'string' and guard[2] >= endsAt then return 'Completed' end
  return nil
end
for ci, change in ipairs(plan.c) do
  local ok = true
  for _, check in ipairs(change.k) do
    local current = staged[check[1]]
    local version
    if current then version = current.v else version = tonumber(redis.call('HGET', KEYS[check[1]], 'v')) or 0 end
    if version ~= check[2] then
      ok = false
      failed[#failed + 1] = ci
      break
    end
  end
  if ok and change.q then
    local why = endedBy(change.q)
    if why then
      ok = false
      ended[#ended + 1] = {ci, why}
    end
  end
  if ok then
    for _, write in ipairs(change.w) do staged[write[1]] = {v = write[2], j = write[3], s = write[4]} end
  end
end
if #failed > 0 or #ended > 0 then
  local answer = {'refused', #failed}
  for _, ci in ipairs(failed) do answer[#answer + 1] = ci end
  for _, refusal in ipairs(ended) do
    answer[#answer + 1] = refusal[1]
    answer[#answer + 1] = refusal[2]
  end
  return answer
end

-- Records first: an entry id the stream refuses stops the script before anything else is written.
local first, last
for _, change in ipairs(plan.c) do
  for _, record in ipairs(change.e) do
    if record[5] ~= '' then
      redis.call('XADD', KEYS[2], record[1], 'r', ARGV[record[2]], 'o', record[3], 'a', record[4], 'q', record[5])
      redis.call('ZADD', KEYS[3], 0, record[6])
    else
      redis.call('XADD', KEYS[2], record[1], 'r', ARGV[record[2]], 'o', record[3], 'a', record[4])
    end
    first = first or record[1]
    last = record[1]
  end
end
for _, change in ipairs(plan.c) do
  for _, write in ipairs(change.w) do
    if write[4] then
      redis.call('HSET', KEYS[write[1]], 'v', write[2], 'j', ARGV[write[3]], 's', write[4])
    else
      redis.call('HSET', KEYS[write[1]], 'v', write[2], 'j', ARGV[write[3]])
    end
  end
  for _, add in ipairs(change.z) do redis.call('ZADD', KEYS[add[1]], add[3] or 0, add[2]) end
  for _, remove in ipairs(change.x) do redis.call('ZREM', KEYS[remove[1]], remove[2]) end
  for _, add in ipairs(change.a) do redis.call('SADD', KEYS[add[1]], add[2]) end
  for _, remove in ipairs(change.r) do redis.call('SREM', KEYS[remove[1]], remove[2]) end
  for _, counter in ipairs(change.n) do
    if (tonumber(redis.call('GET', KEYS[counter[1]])) or 0) < tonumber(counter[2]) then redis.call('SET', KEYS[counter[1]], counter[2]) end
  end
end
if first then
  redis.call('HSET', KEYS[1], 'seq', plan.t[1], 'hash', plan.t[2], 'ms', plan.t[3])
  redis.call('PUBLISH', ARGV[3], cjson.encode({o = ARGV[4], t = plan.tn, f = first, l = last}))
end
for _, change in ipairs(plan.c) do
  for _, event in ipairs(change.g) do
    redis.call('PUBLISH', ARGV[2], cjson.encode({o = ARGV[4], e = {requestId = event[1], tenantId = plan.tn, status = event[2]}}))
  end
end
return {'ok'}
`)

/**
 * Up to ARGV[3] matching records of one tenant with entry ids from ARGV[1] to ARGV[2] (inclusive),
 * looking at no more than ARGV[4] candidates. ARGV[5] a request id (encoded) to walk the
 * audit-by-request index instead of the whole stream, ARGV[6] '=' and an actor id, ARGV[7] operations
 * (comma-separated); empty means no filter. KEYS[1] the stream, KEYS[2] the audit-by-request index.
 * Answers {resume, id, json, id, json, …}: resume is the last id looked at, or '' when the range ran out.
 */
export const AUDIT_RANGE = script(`
local count, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local requestId, actor = ARGV[5], ARGV[6]
local operations = nil
if ARGV[7] ~= '' then
  operations = {}
  for operation in string.gmatch(ARGV[7], '[^,]+') do operations[operation] = true end
end
local answer = {''}
local found, last = 0, ''
local function consider (id, fields)
  last = id
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  if (operations == nil or operations[f.o]) and (actor == '' or '=' .. f.a == actor) then
    answer[#answer + 1] = id
    answer[#answer + 1] = f.r
    found = found + 1
  end
  return found == count
end

local full = false
local looked = 0
if requestId == '' then
  local entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', budget)
  looked = #entries
  for _, entry in ipairs(entries) do
    if consider(entry[1], entry[2]) then
      full = true
      break
    end
  end
else
  local lower = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', 1)
  if #lower == 0 then return answer end
  local upper = redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[1], 'COUNT', 1)
  local low = tonumber(string.match(lower[1][1], '%-(%d+)$'))
  local high = tonumber(string.match(upper[1][1], '%-(%d+)$'))
  local members = redis.call('ZRANGEBYLEX', KEYS[2],
    '[' .. requestId .. ':' .. string.format('%016d', low),
    '(' .. requestId .. ':' .. string.format('%016d', high + 1), 'LIMIT', 0, budget)
  looked = #members
  for _, member in ipairs(members) do
    local seq, ms = string.match(member, ':(%d+):(%d+)$')
    local id = ms .. '-' .. tonumber(seq)
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry == 1 then
      if consider(entry[1][1], entry[1][2]) then
        full = true
        break
      end
    else
      last = id
    end
  end
end
if full or looked == budget then answer[1] = last end
return answer
`)

/** The verification start: KEYS[1] anchor, KEYS[2] stream; {anchorSeq, anchorHash, first ARGV[1] entries}, read together. */
export const VERIFY_START = script(`
local anchor = redis.call('HMGET', KEYS[1], 'seq', 'hash')
return {anchor[1] or '0', anchor[2] or string.rep('0', 64), redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[1])}
`)

/**
 * Drops the oldest records up to and including one entry: KEYS[1] stream, KEYS[2] anchor, KEYS[3]
 * audit-by-request index; ARGV[1] the first entry id to keep, ARGV[2]/ARGV[3] seq and hash of the
 * last dropped record (the new anchor), ARGV[4…] the index members of the dropped records.
 */
export const PRUNE = script(`
local dropped = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
for i = 4, #ARGV do redis.call('ZREM', KEYS[3], ARGV[i]) end
if (tonumber(redis.call('HGET', KEYS[2], 'seq')) or 0) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'hash', ARGV[3])
end
return dropped
`)

/** Hands out the next service request number: KEYS[1] the counter, ARGV[1] the first number. */
export const NEXT_NUMBER = script(`
local number = redis.call('INCR', KEYS[1])
if number < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  number = tonumber(ARGV[1])
end
return number
`)

/** EVALSHA, or EVAL when the server has not seen the script yet (NOSCRIPT); both run atomically. */
export async function runScript (client: RedisClient, { lua, sha }: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args)
  } catch (err) {
    if (!(err as Error).message.startsWith('NOSCRIPT')) throw err
    return await client.eval(lua, keys.length, ...keys, ...args)
  }
}
