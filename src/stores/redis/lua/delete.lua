--[[
delete: removes a record, whatever its state, so its key runs again.

KEYS[1]  the record's key
ARGV     none

Reply: 1 when a record was removed, 0 when there was none.
]]
return redis.call('DEL', KEYS[1])
