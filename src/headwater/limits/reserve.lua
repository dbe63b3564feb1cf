-- Reserve several counters at once, all or nothing (headwater.limits.redis).
-- KEYS[i]: counter i; the last key: the epoch sentinel. ARGV[1]: now in epoch seconds, or '' to use
-- the server's TIME. ARGV[4i-2 .. 4i+1]: amount, capacity, window_s (0 for a period), period_end (0
-- when rolling); or, packed (fewer arguments for the client to encode), ARGV[2]: all of them,
-- space-separated.
-- Returns 'lost' (nothing read or written) when the sentinel is missing: the counters are gone with
-- it (Redis restarted or was flushed) and must be rebuilt first. Otherwise one string of
-- space-separated values (one bulk reply parses far faster than an array): the epoch, now ('%.17g'),
-- denied (0-based, -1: allowed), never (0/1), retry_bucket, then per counter: used before the call,
-- newest non-empty bucket (-1: none), slot.
--
-- A rolling counter is a hash: one field per bucket index (amount > 0), plus 't' (the sum of the
-- bucket fields), 'o' (every bucket <= o has been dropped) and 'n' (the newest bucket). Buckets
-- that leave the window are dropped as time passes, so a call reads a few fields, never all.
-- A period counter is a string.
local epoch = redis.call('GET', KEYS[#KEYS])
if not epoch then
  return 'lost'
end
local COUNTERS = #KEYS - 1
local now = clock(ARGV[1])
local A = ARGV
if #ARGV == 2 then
  A = {ARGV[1]}
  for v in string.gmatch(ARGV[2], '%S+') do
    A[#A + 1] = v
  end
end
local out = {string.format('%.17g', now), -1, 0, -1}  -- numbers until the end: out[4 + 3i] is read back
local denied = -1
local rolling = {}
for i = 1, COUNTERS do
  local a = 4 * i - 2
  local key, amount, cap, window = KEYS[i], tonumber(A[a]), tonumber(A[a + 1]), tonumber(A[a + 2])
  local used, newest, slot = 0, -1, -1
  local b, cur, low, o, n
  if window > 0 then
    b = math.min(window, 60)
    cur = math.floor(now / (window / b))
    low = cur - b
    slot = cur
    local total, here, dropped
    total, here, o, n, dropped = window_state(key, cur, low, b)
    if dropped then
      redis.call('HSET', key, 't', total, 'o', o)
    end
    used = total
    if n > low then
      newest = n
    end
    rolling[i] = {total, o, n, here, window + window / b}
  elseif now < tonumber(A[a + 3]) then
    slot = 0
    used = tonumber(redis.call('GET', key) or '0')
    if used > 0 then
      newest = 0
    end
  end
  if denied < 0 and amount > 0 then
    if amount > cap then
      denied = i - 1
      out[3] = 1
    elseif used + amount > cap then
      denied = i - 1
      if window > 0 then
        -- Free buckets oldest first until the charge fits, reading ten at a time.
        out[4] = n
        local need, freed, j = used + amount - cap, 0, math.max(o, low) + 1
        while j <= cur do
          local last = math.min(j + 9, cur)
          local names = {}
          for x = j, last do
            names[#names + 1] = field(x)
          end
          local values = redis.call('HMGET', key, unpack(names))
          for k = 1, #names do
            if values[k] then
              freed = freed + tonumber(values[k])
              if freed >= need then
                out[4] = j + k - 1
                break
              end
            end
          end
          if freed >= need then
            break
          end
          j = last + 1
        end
      end
    end
  end
  out[#out + 1] = used
  out[#out + 1] = newest
  out[#out + 1] = slot
end
out[2] = denied
local function reply()
  for k = 2, #out do
    out[k] = field(out[k])
  end
  return epoch .. ' ' .. table.concat(out, ' ')
end
if denied >= 0 then
  return reply()
end
for i = 1, COUNTERS do
  local amount, slot = tonumber(A[4 * i - 2]), out[4 + 3 * i]
  if amount > 0 and slot >= 0 then
    local r = rolling[i]
    if r then
      local n = r[3]
      if slot > n then
        n = slot
      end
      redis.call('HSET', KEYS[i], field(slot), r[4] + amount, 't', r[1] + amount, 'o', r[2], 'n', n)
      if r[4] == 0 then
        redis.call('EXPIRE', KEYS[i], math.ceil(r[5]))
      end
    elseif redis.call('INCRBY', KEYS[i], amount) == amount then
      redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(A[4 * i + 1]) + 60 - now))
    end
  end
end
return reply()
