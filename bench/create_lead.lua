-- create_lead.lua — POST /api/v1/leads with a JSON body (Content-Type: application/json).
-- Every request is a different lead: a new name, e-mail and phone, a random owner and source.
-- env: TOKEN (bearer token; admin or manager so owner_id may be anyone), OWNERS (comma-separated ids)
local token = os.getenv("TOKEN") or ""
local owners = {}
for id in string.gmatch(os.getenv("OWNERS") or "", "%d+") do owners[#owners + 1] = id end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

local firsts = {"Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Sofia", "Arthur"}
local lasts = {"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Patel", "Garcia", "Rossi", "Novak"}
local thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("seed", thread_no) end
local counter = 0
function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end

function request()
  counter = counter + 1
  local f, l = firsts[math.random(#firsts)], lasts[math.random(#lasts)]
  local tag = string.format("%d.%d.%d", seed or 0, counter, math.random(1, 1000000000))
  local owner = ""
  if #owners > 0 then owner = string.format(',"owner_id":%s', owners[math.random(#owners)]) end
  local body = string.format(
    '{"full_name":"%s %s","company":"Bench Ltd","emails":["%s.%s.%s@example.com"],"phones":["+447700%06d"],' ..
    '"country":"GB","city":"Leeds","service":"Heat pump","source_id":%d,"value_cents":%d,"currency":"GBP",' ..
    '"request":"Benchmark lead: please call back about a quote."%s}',
    f, l, string.lower(f), string.lower(l), tag, math.random(0, 999999), math.random(1, 8),
    math.random(50000, 2000000), owner)
  return wrk.format(nil, "/api/v1/leads", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
