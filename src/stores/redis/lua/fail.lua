--[[
fail: stores a failure, fenced by the owner's token.

KEYS[1]  the record's key
ARGV[1]  the owner's token
ARGV[2]  the error as JSON ({ name, message, code })
ARGV[3]  "1" when the failure is final (replayed), "0" when retryable
ARGV[4]  retention from now, in ms

Reply: 1 when stored; 0 when the token does not hold the record (nothing
changed).
]]
local key = KEYS[1]
local m = redis.call('HGET', key, 'm')
if not m then return 0 end
local st, tk, at, ca = string.match(m, '^(%S+) (%d+) (%d+) %d+ (%d+) ')
if st ~= 'in_progress' or tk ~= ARGV[1] then return 0 end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expires = now + tonumber(ARGV[4])
local final = '0'
if ARGV[3] == '1' then final = '1' end

redis.call('HSET', key, 'e', ARGV[2], 'm', string.format(
  'failed %s %s 0 %s %.0f %.0f %s', tk, at, ca, expires, now, final))
redis.call('PEXPIREAT', key, string.format('%.0f', expires))
return 1
