-- Put in front of every endpoint script by bench/wrk.py. Counts the HTTP statuses
-- each thread saw, and done() prints the run's figures as one JSON line
-- ("BENCH_JSON {...}") for bench/wrk.py to read.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")

function now()
  ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

statuses = {}
exhausted = false  -- a single-use list ran out: the thread stopped before the end
first_request, last_response = nil, nil

function count(status)
  statuses[status] = (statuses[status] or 0) + 1
  last_response = now()
end

function response(status, headers, body)
  count(status)
end

-- "Name: value" arguments from index `from` on become request headers.
function add_headers(args, from)
  for i = from, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

-- A single-use value per request (codes, rotating refresh tokens): when a thread has
-- none left it stops, and the run's rate is taken over the time it really ran.
function out_of_values()
  exhausted = true
  wrk.thread:stop()
  return wrk.format("GET", "/.well-known/openid-configuration")
end

function done(summary, latency, requests)
  local all, parts, ran_out = {}, {}, false
  local started, ended = nil, nil
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      all[status] = (all[status] or 0) + n
    end
    if thread:get("exhausted") then ran_out = true end
    local first, last = thread:get("first_request"), thread:get("last_response")
    if first and (started == nil or first < started) then started = first end
    if last and (ended == nil or last > ended) then ended = last end
  end
  for status, n in pairs(all) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local duration = summary.duration
  if ran_out and started and ended then duration = (ended - started) * 1e6 end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "exhausted": %s, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, duration, tostring(ran_out), table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
