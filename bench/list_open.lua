-- list_open.lua — GET /api/v1/leads?status=open&owner=<id>: the first page of 50, newest first,
-- for an owner picked at random from OWNERS on every request.
-- env: TOKEN (bearer token; an admin sees every owner), OWNERS (comma-separated user ids),
--      LIMIT (page size, default 50)
local token = os.getenv("TOKEN") or ""
local limit = os.getenv("LIMIT") or "50"
local owners = {}
for id in string.gmatch(os.getenv("OWNERS") or "", "%d+") do owners[#owners + 1] = id end
if #owners == 0 then owners = {"me"} end
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("seed", thread_no) end
function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end

function request()
  local owner = owners[math.random(1, #owners)]
  return wrk.format("GET", "/api/v1/leads?status=open&owner=" .. owner .. "&limit=" .. limit)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
