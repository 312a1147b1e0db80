--[[
complete: stores the result, fenced by the owner's token.

KEYS[1]  the record's key
ARGV[1]  the owner's token
ARGV[2]  the encoded result
ARGV[3]  retention from now, in ms

Reply: 1 when stored; 0 when the record is gone, settled, or held under
another token (a stale owner), in which case nothing changed.
]]
local key = KEYS[1]
local m = redis.call('HGET', key, 'm')
if not m then return 0 end
local st, tk, at, ca = string.match(m, '^(%S+) (%d+) (%d+) %d+ (%d+) ')
if st ~= 'in_progress' or tk ~= ARGV[1] then return 0 end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expires = now + tonumber(ARGV[3])

redis.call('HSET', key, 'r', ARGV[2], 'm', string.format(
  'completed %s %s 0 %s %.0f %.0f 0', tk, at, ca, expires, now))
redis.call('PEXPIREAT', key, string.format('%.0f', expires))
return 1
