--[[
claim: one atomic claim of one idempotency record (a hash).

KEYS[1]  the record's key
ARGV[1]  fingerprint of the request
ARGV[2]  lease for a new owner, in ms
ARGV[3]  retention of the record, in ms

Reply: { outcome, { m, fp, r, e }, fields } where outcome is "acquired",
"taken_over", "replay", "busy" or "mismatch"; m, fp, r, e are the record's
fields after the claim (see record-fields.ts), and fields is the whole hash
(HGETALL, for the steps) when the outcome is "taken_over", "acquired" again
after a failure, or "busy"; otherwise empty.

The order of the checks is the store contract's (src/stores/transitions.ts):
  1. no record (Redis expired it) -> fresh record, attempts 1
  2. fingerprint differs          -> mismatch, whatever the status
  3. completed, or final failure  -> replay
  4. in progress, lease live      -> busy (even past its retention)
  5. retryable failure, or a lease that ran out -> claim again: new token,
     attempts + 1, steps kept
A hash always expires at its own `ex` (every script that writes one sets
the other), so an existing hash is never past retention. Time is the
server's (TIME), never a client's, and is read only when the answer
depends on it: a replay does not.
]]
local key = KEYS[1]
local fingerprint = ARGV[1]
local lease = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

local function clock()
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  return now, tonumber(time[1]) * 1000000 + tonumber(time[2])
end

-- Numbers past 1e14 print in exponent form with tostring(), hence %.0f.
local function meta(st, tk, at, lu, ca, ex, co, fin)
  return string.format('%s %.0f %.0f %.0f %.0f %.0f %.0f %s', st, tk, at, lu, ca, ex, co, fin)
end

local cur = redis.call('HMGET', key, 'm', 'fp', 'r', 'e')
if not cur[1] then
  -- The token starts at the clock in microseconds: above any token an
  -- expired record of this key can have held.
  local now, nowUs = clock()
  local expires = now + math.max(ttl, lease)
  local m = meta('in_progress', nowUs, 1, now + lease, now, expires, 0, '0')
  redis.call('HSET', key, 'm', m, 'fp', fingerprint)
  redis.call('PEXPIREAT', key, string.format('%.0f', expires))
  return { 'acquired', { m, fingerprint }, {} }
end

if cur[2] ~= fingerprint then return { 'mismatch', cur, {} } end
-- The hot path, a replay, looks only at the status word and the final flag.
local m = cur[1]
if string.sub(m, 1, 10) == 'completed ' or
    (string.sub(m, 1, 7) == 'failed ' and string.sub(m, -1) == '1') then
  return { 'replay', cur, {} }
end

local st, tk, at, lu, ca, ex = string.match(m,
  '^(%S+) (%d+) (%d+) (%d+) (%d+) (%d+) ')

local now, nowUs = clock()
if st == 'in_progress' and now < tonumber(lu) then
  return { 'busy', cur, redis.call('HGETALL', key) }
end

local outcome = 'acquired'
if st == 'in_progress' then outcome = 'taken_over' end
local newLease = now + lease
local expires = math.max(tonumber(ex), newLease)
local claimed = meta('in_progress', math.max(tonumber(tk) + 1, nowUs), tonumber(at) + 1,
  newLease, tonumber(ca), expires, 0, '0')
redis.call('HDEL', key, 'r', 'e')
redis.call('HSET', key, 'm', claimed)
redis.call('PEXPIREAT', key, string.format('%.0f', expires))
return { outcome, { claimed, fingerprint }, redis.call('HGETALL', key) }
