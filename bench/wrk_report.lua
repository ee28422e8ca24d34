-- wrk script for bench/load.py: counts the responses of every status in every
-- thread and prints wrk's figures as one JSON line (latencies in microseconds).
-- Arguments after `--` are extra request headers, "Name: value".
-- bench/wrk_write.lua loads this file for `setup`, `count_status` and `report`.

bench_threads = {}  -- global: wrk_write.lua reuses these functions

function setup(thread)
  table.insert(bench_threads, thread)
  thread:set("id", #bench_threads)
end

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function init(args)
  statuses = {}
  for _, header in ipairs(args) do
    local name, value = header:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

function response(status, headers, body)
  count_status(status)
end

-- Every thread's status counts, summed: {"200": n, "303": m, ...} as JSON.
function statuses_json()
  local total = {}
  for _, thread in ipairs(bench_threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function report(summary, latency)
  local e = summary.errors
  local function p(q) return latency:percentile(q) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status_4xx_5xx": %d}, ' ..
    '"statuses": %s, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, ' ..
    '"p95": %d, "p99": %d, "p999": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, statuses_json(),
    latency.min, latency.mean, latency.stdev, p(50), p(90), p(95), p(99), p(99.9),
    latency.max))
end

function done(summary, latency, requests)
  report(summary, latency)
end
