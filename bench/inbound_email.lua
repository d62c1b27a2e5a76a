-- inbound_email.lua — POST /api/v1/inbound/email with JSON e-mails, as a provider's webhook posts
-- them: KNOWN_PCT percent from senders of existing leads (matched to the lead's open thread or a
-- new one), the rest from new senders (a new lead each). Every message has its own Message-ID.
-- env: SECRET (the inbound secret), KNOWN (a file of known sender addresses, one a line), KNOWN_PCT
local secret = os.getenv("SECRET") or ""
local known_pct = tonumber(os.getenv("KNOWN_PCT") or "70")
local known = {}
local f = io.open(os.getenv("KNOWN") or "", "r")
if f then for line in f:lines() do if #line > 0 then known[#known + 1] = line end end f:close() end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Leadpath-Inbound-Secret"] = secret
local thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("seed", thread_no) end
local counter = 0
function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end

function request()
  counter = counter + 1
  local tag = string.format("%d.%d.%d", seed or 0, counter, math.random(1, 1000000000))
  local from
  if #known > 0 and math.random(100) <= known_pct then from = known[math.random(#known)]
  else from = "new." .. tag .. "@inbound.example.com" end
  local body = string.format('{"from":"%s","to":"sales@leadpath.test","subject":"Question %s",' ..
    '"body":"Hello, could you send me a quote for a heat pump? Thanks.","message_id":"b%s@bench.example.com"}', from, tag, tag)
  return wrk.format(nil, "/api/v1/inbound/email", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f err_status=%d err_timeout=%d err_connect=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status, e.timeout, e.connect))
end
