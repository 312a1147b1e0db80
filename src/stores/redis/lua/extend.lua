--[[
extend: renews the owner's lease (the heartbeat), fenced by its token.

KEYS[1]  the record's key
ARGV[1]  the owner's token
ARGV[2]  the new lease, in ms from now

Reply: 1 when renewed; 0 when the token does not hold the record.
The key's expiry moves out with the lease, so a running record never
vanishes under its owner.
]]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'st', 'tk', 'ex')
if cur[1] ~= 'in_progress' or cur[2] ~= ARGV[1] then return 0 end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leaseUntil = now + tonumber(ARGV[2])
local expires = string.format('%.0f', math.max(tonumber(cur[3]), leaseUntil))

redis.call('HSET', key, 'lu', string.format('%.0f', leaseUntil), 'ex', expires)
redis.call('PEXPIREAT', key, expires)
return 1
