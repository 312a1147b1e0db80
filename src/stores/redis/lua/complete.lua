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
local cur = redis.call('HMGET', key, 'st', 'tk')
if cur[1] ~= 'in_progress' or cur[2] ~= ARGV[1] then return 0 end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expires = string.format('%.0f', now + tonumber(ARGV[3]))

redis.call('HSET', key, 'st', 'completed', 'r', ARGV[2], 'lu', '0',
  'co', string.format('%.0f', now), 'ex', expires)
redis.call('PEXPIREAT', key, expires)
return 1
