"""The server-side Lua scripts of the fleet (run atomically by Redis, one round trip each).

Every time is Redis's own (``TIME``), in integer milliseconds, so hosts whose clocks disagree
still agree on the window; only a limiter given a clock (tests, on a virtual clock) sends the
time with each step instead. Numbers are written back with ``%.0f`` so a large millisecond value
never turns into Lua's exponent notation.
"""

from __future__ import annotations

__all__ = ["CAMPAIGN", "FENCED", "LIMITER_STEP", "RENEW", "RESIGN"]

# The limiter's one step: give back finished calls (learning from what their answers said),
# extend the leases of calls still running, record a pause, and try to start one call.
#
# KEYS[1] the window's hash, KEYS[2] the sorted set of in-flight leases (score = expiry).
# ARGV: 1 lease ttl ms, 2 reset margin ms, 3 explicit quota calls ('' if none), 4 its window ms,
#       5 probe first ('1'/'0'), 6 pause ms ('' for none), 7 lease id to start ('' for none),
#       8 number of leases to extend, 9 number of releases, 10 now in ms ('' for Redis's own
#       TIME), then the ids to extend, then six fields per release: lease id, its grant number,
#       remaining, reset-after ms, quota, window ms ('' = unknown).
# Returns {granted, wait ms (-1: poll, the fleet's probe is out), probe, quota, window ms,
#          remaining, in flight, grant number}, -1 standing for unknown.
#
# Every grant is numbered (``seq``). The server counted a call when it answered it, so the
# remaining count in that answer may miss the calls granted after it: when the fleet adopts a
# window from an answer, it takes the server's count less the grants that followed that call.
# Within a window it has adopted, the fleet counts its own grants; an answer then lowers the
# estimate only when the server has seen more calls than the fleet sent (clients outside it).
LIMITER_STEP = r"""
local state, inflight = KEYS[1], KEYS[2]
local now = tonumber(ARGV[10])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])

local function opt(v)
  if v == nil or v == '' then return nil end
  return tonumber(v)
end
local function num(field)
  return tonumber(redis.call('HGET', state, field))
end

local q, w, rem, reset = num('q'), num('w'), num('rem'), num('reset')
local seq = num('seq') or 0
-- mark: the grant number as of a moment the tracked window surely had not ended yet; grants
-- after it may land in the server's next window. A newly tracked window starts it afresh.
local mark = num('mark') or seq
local conf = num('conf') or 0
local paused = num('pause') or 0
local learned = num('learned')
local probe = redis.call('HGET', state, 'probe')
if not probe then probe = nil end

if learned == nil then
  -- A fresh state (first use, expired, or Redis restarted without its data).
  learned = 0
  if ARGV[5] == '0' then learned = 1 end
  local iq, iw = opt(ARGV[3]), opt(ARGV[4])
  if iq and iw then
    q, w, rem, learned = iq, iw, iq, 1
  end
end

-- Leases whose holder stopped renewing them (a crashed process) are given back.
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)

local n_extend, n_release = tonumber(ARGV[8]), tonumber(ARGV[9])
local at = 11
for _ = 1, n_extend do
  redis.call('ZADD', inflight, 'XX', now + ttl, ARGV[at])
  at = at + 1
end

for _ = 1, n_release do
  local id, n = ARGV[at], opt(ARGV[at + 1])
  local r, ra, rq, rw = opt(ARGV[at + 2]), opt(ARGV[at + 3]), opt(ARGV[at + 4]), opt(ARGV[at + 5])
  at = at + 6
  redis.call('ZREM', inflight, id)
  if rq and rq > 0 then q = rq end
  if rw and rw > 0 then w = rw end
  if r then
    -- Calls granted after this one may not have been counted by the server yet.
    local later = redis.call('ZCARD', inflight)
    if n and n <= seq then later = seq - n end
    local est = math.max(0, r - later)
    if ra == nil then
      if rem == nil or est < rem then rem = est end
    else
      local server_reset = now + ra
      local tol = 1000 + margin
      if conf == 0 or reset == nil or rem == nil or server_reset > reset + tol then
        reset, rem, conf, mark = server_reset, est, 1, seq
      elseif server_reset >= reset - tol then
        -- The window the fleet tracks, whose grants it has counted itself (rem), so the
        -- server's count can only reveal spending by clients outside the fleet. Answers come
        -- back out of order, so r - later undercounts by the reordering: compare with r.
        rem = math.min(rem, r)
      end
    end
  end
  if learned == 0 then
    -- The probe's answer (or its failure) is in: everyone may go.
    learned, probe = 1, nil
  end
end

local p = opt(ARGV[6])
if p then
  local untl = now + p
  if untl > paused then paused = untl end
  if q then
    rem, reset, conf, mark = 0, paused - margin, 0, seq
  else
    rem = nil
  end
end

local granted, wait, is_probe = 0, 0, 0
local id = ARGV[7]
if id ~= '' then
  if paused > now then
    wait = paused - now
  elseif learned == 0 and probe and probe ~= id and redis.call('ZSCORE', inflight, probe) then
    wait = -1
  else
    if reset and now >= reset + margin then
      if w and q then
        local k = math.floor((now - reset - margin) / w) + 1
        -- Grants made in the last moments of the old window (after mark) may have reached
        -- the server after its window turned: count them against the new one.
        local late = 0
        if k == 1 then late = seq - mark end
        reset, rem, mark = reset + k * w, math.max(0, q - late), seq
      else
        reset, rem = nil, nil
      end
    end
    if rem and rem <= 0 then
      if reset == nil then
        reset, conf, mark = now + (w or 1000), 0, seq
      end
      wait = reset + margin - now
    else
      if rem then
        rem = rem - 1
        if reset == nil and w then
          reset, conf, mark = now + w, 0, seq
        end
      end
      redis.call('ZADD', inflight, now + ttl, id)
      granted = 1
      seq = seq + 1
      if learned == 0 then
        probe, is_probe = id, 1
      end
    end
  end
end

local function put(field, v)
  if v == nil then
    redis.call('HDEL', state, field)
  elseif type(v) == 'number' then
    redis.call('HSET', state, field, string.format('%.0f', v))
  else
    redis.call('HSET', state, field, v)
  end
end
put('q', q)
put('w', w)
put('rem', rem)
put('reset', reset)
put('conf', conf)
put('pause', paused)
put('learned', learned)
put('probe', probe)
put('seq', seq)
if reset and now < reset - 1000 - margin then
  -- Every grant so far left well before the window's announced end (whose seconds the
  -- server rounds up): none of them can count in the next window.
  mark = seq
end
put('mark', mark)
-- An idle fleet's state fades after a few windows; the next call learns it again.
redis.call('PEXPIRE', state, math.max(4 * (w or 300000), 600000))
redis.call('PEXPIRE', inflight, math.max(4 * ttl, 60000))

local function out(v)
  if v == nil then return -1 end
  return v
end
return {granted, wait, is_probe, out(q), out(w), out(rem), redis.call('ZCARD', inflight), seq}
"""

# KEYS[1] the lease, KEYS[2] the fencing counter. ARGV: 1 holder, 2 ttl ms.
# Returns {held (1/0), fencing token (the holder's; 0 if none), ms the lease has left}.
CAMPAIGN = r"""
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder, token = string.match(cur, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(token), tonumber(ARGV[2])}
  end
  return {0, tonumber(token) or 0, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {1, token, tonumber(ARGV[2])}
"""

# KEYS[1] the lease. ARGV: 1 "holder|token", 2 ttl ms. Returns 1 if renewed, 0 if lost.
RENEW = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] the lease. ARGV: 1 "holder|token". Gives the lease up if still held.
RESIGN = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# A write allowed only to the current leader (fencing): KEYS[1] the lease, KEYS[2] the
# position, KEYS[3] the intents hash. ARGV: 1 "holder|token", 2 the operation ('check';
# 'position' value; 'begin' id data; 'finish' position-or-'' id...). Returns 1 when done, 0 when the lease is not (or no longer) this holder's.
FENCED = r"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local op = ARGV[2]
if op == 'position' then
  redis.call('SET', KEYS[2], ARGV[3])
elseif op == 'begin' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
elseif op == 'finish' then
  if ARGV[3] ~= '' then
    redis.call('SET', KEYS[2], ARGV[3])
  end
  for i = 4, #ARGV do
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
elseif op ~= 'check' then
  return redis.error_reply('unknown operation ' .. op)
end
return 1
"""
