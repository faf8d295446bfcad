-- wrk: POST one JSON body with the given headers, count the answers that are not 200, and
-- print one RESULT line that bench/ai_gateway.py reads.
--   wrk ... -s bench/wrk_post.lua URL -- BODY_FILE 'Name: value' ...

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

non200 = 0
first_failure = ""

function response(status, headers, body)
  if status ~= 200 then
    if non200 == 0 then
      first_failure = status .. " " .. body:sub(1, 300)
    end
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local failed, failure = 0, ""
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("non200")
    if failure == "" then
      failure = thread:get("first_failure")
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non200=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failed,
    e.connect + e.read + e.write + e.timeout
  ))
  if failure ~= "" then
    io.write("FIRST_FAILURE " .. failure:gsub("\n", " ") .. "\n")
  end
end
