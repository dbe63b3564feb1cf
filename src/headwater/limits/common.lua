-- Prepended to every limiter script (headwater.limits.scripts): what they share.

-- A bucket index as a hash field name.
local function field(j)
  return string.format('%d', j)
end

-- Now in epoch seconds: `given`, or the server's TIME when it is ''.
local function clock(given)
  if given == '' then
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return tonumber(given)
end

-- A rolling counter (layout in reserve.lua) as seen from bucket `slot`, after dropping the buckets
-- that have left the window (every bucket <= `low`; `b` buckets in all): its total, the amount in
-- `slot`, 'o', 'n', and whether buckets were dropped (then 't' and 'o' are stale in the hash until
-- the caller writes them). A counter with nothing left in the window is deleted and starts afresh.
local function window_state(key, slot, low, b)
  local m = redis.call('HMGET', key, 't', 'o', 'n', field(slot))
  local total, here = tonumber(m[1]) or 0, tonumber(m[4]) or 0
  local o, n = tonumber(m[2]), tonumber(m[3]) or -1
  if o == nil or n <= low then
    if m[1] or m[2] or m[3] then
      redis.call('DEL', key)
    end
    return 0, 0, low, -1, false
  end
  if o >= low then
    return total, here, o, n, false
  end
  -- Drop the buckets that have left the window since the last call: (o, low]. Fewer than b: a
  -- write leaves o = n - b, and n > low here.
  local names, stale, sum = {}, {}, 0
  for j = math.max(o, low - b) + 1, low do
    names[#names + 1] = field(j)
  end
  local values = redis.call('HMGET', key, unpack(names))
  for k = 1, #names do
    if values[k] then
      stale[#stale + 1] = names[k]
      sum = sum + tonumber(values[k])
    end
  end
  if #stale > 0 then
    redis.call('HDEL', key, unpack(stale))
  end
  return total - sum, here, low, n, true
end
