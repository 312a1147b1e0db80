--[[
claim: one atomic claim of one idempotency record (a hash).

KEYS[1]  the record's key
ARGV[1]  fingerprint of the request
ARGV[2]  lease for a new owner, in ms
ARGV[3]  retention of the record, in ms

Reply: { outcome, fields } where outcome is "acquired", "taken_over",
"replay", "busy" or "mismatch", and fields is HGETALL of the record after
the claim (for "acquired" and "taken_over", the caller's own record).

The order of the checks is the store contract's (src/stores/transitions.ts):
  1. no record, or an expired one -> fresh record, attempts 1
  2. fingerprint differs          -> mismatch, whatever the status
  3. completed, or final failure  -> replay
  4. in progress, lease live      -> busy (even past its retention)
  5. retryable failure, or a lease that ran out -> claim again: new token,
     attempts + 1, steps kept
Time is the server's (TIME), never a client's.
]]
local key = KEYS[1]
local fingerprint = ARGV[1]
local lease = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local nowUs = tonumber(time[1]) * 1000000 + tonumber(time[2])

-- Numbers past 1e14 print in exponent form with tostring(); never use it.
local function int(x)
  return string.format('%.0f', x)
end

local cur = redis.call('HMGET', key, 'st', 'tk', 'fp', 'lu', 'at', 'ex', 'fin')
local status, token, fp = cur[1], tonumber(cur[2]), cur[3]
local leaseUntil, attempts, expiresAt = tonumber(cur[4]), tonumber(cur[5]), tonumber(cur[6])
local final = cur[7]

local live = status == 'in_progress' and now < leaseUntil
if not status or (now >= expiresAt and not live) then
  -- The token starts above the clock in microseconds and above any token
  -- the old record held, so no stale owner of it can match.
  local nextToken = math.max((token or 0) + 1, nowUs)
  local expires = now + math.max(ttl, lease)
  if status then redis.call('DEL', key) end
  redis.call('HSET', key, 'st', 'in_progress', 'tk', int(nextToken), 'fp', fingerprint,
    'lu', int(now + lease), 'at', '1', 'ca', int(now), 'ex', int(expires))
  redis.call('PEXPIREAT', key, int(expires))
  return { 'acquired', redis.call('HGETALL', key) }
end

if fp ~= fingerprint then
  return { 'mismatch', redis.call('HGETALL', key) }
end
if status == 'completed' or (status == 'failed' and final == '1') then
  return { 'replay', redis.call('HGETALL', key) }
end
if live then
  return { 'busy', redis.call('HGETALL', key) }
end

local outcome = 'acquired'
if status == 'in_progress' then outcome = 'taken_over' end
local newLease = now + lease
local expires = math.max(expiresAt, newLease)
redis.call('HDEL', key, 'r', 'e', 'fin', 'co')
redis.call('HSET', key, 'st', 'in_progress', 'tk', int(math.max(token + 1, nowUs)),
  'lu', int(newLease), 'at', int(attempts + 1), 'ex', int(expires))
redis.call('PEXPIREAT', key, int(expires))
return { outcome, redis.call('HGETALL', key) }
