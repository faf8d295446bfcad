-- wrk script of bench/school_morning.py: rotates through the requests in the Lua file named
-- after `--` ({method, path, headers, body} each), counts the answers by status, and prints
-- one line "RESULT {json}" at the end.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local next_one = 0
statuses = {}

function init(args)
  for i, r in ipairs(dofile(args[1])) do
    requests[i] = wrk.format(r[1], r[2], r[3], r[4] ~= "" and r[4] or nil)
  end
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
