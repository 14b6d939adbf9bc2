-- Shared by every scenario: per-thread ids and random seeds, and a done() that prints one JSON line.
local M = {}
local threads = 0

function M.setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function M.seed()
  math.randomseed(os.time() + (tid or 0) * 7919 + math.floor(os.clock() * 1000000))
end

function M.env_number(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return tonumber(v)
end

-- Paced mode: BENCH_DELAY_MS_MEAN set means each connection waits an exponentially distributed pause
-- (mean BENCH_DELAY_MS_MEAN ms, Poisson arrivals) before each request, so the offered load is about
-- connections x 1000 / (mean pause + latency) requests/s instead of "as fast as the server answers".
-- wrk's timer takes whole milliseconds; random rounding keeps the mean exact. Unset: no delay() at all
-- (a delay() returning 0 would still cost a timer per request).
local pace = M.env_number("BENCH_DELAY_MS_MEAN", 0)
if pace > 0 then
  function M.delay()
    local pause = -pace * math.log(1 - math.random())
    return math.floor(pause + math.random())
  end
end

function M.code(i)
  return string.format("k%08d", i)
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"lat_mean_us":%.1f,"lat_stdev_us":%.1f,' ..
    '"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_p999_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end

return M
