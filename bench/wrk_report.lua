-- wrk script for bench/load.py: counts non-2xx responses in every thread and
-- prints wrk's figures as one JSON line (latencies in microseconds).
-- Arguments after `--` are extra request headers, "Name: value".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  last_status = 0
  for _, header in ipairs(args) do
    local name, value = header:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    last_status = status
  end
end

function done(summary, latency, requests)
  local non2xx_total, status = 0, 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    local s = thread:get("last_status")
    if s ~= 0 then status = s end
  end
  local e = summary.errors
  local function p(q) return latency:percentile(q) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status_4xx_5xx": %d, ' ..
    '"non2xx": %d, "last_non2xx_status": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, ' ..
    '"p95": %d, "p99": %d, "p999": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, non2xx_total, status,
    latency.min, latency.mean, latency.stdev, p(50), p(90), p(95), p(99), p(99.9),
    latency.max))
end
