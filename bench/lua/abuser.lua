-- Rate-limit fairness, the abusive side: one client address (X-Forwarded-For 203.0.113.66) as fast as
-- its connections allow. Counts 429 answers and those without a Retry-After header; prints BENCH_ABUSE.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local threads = {}
local headers = { ["X-Forwarded-For"] = "203.0.113.66" }
function setup(thread)
  common.setup(thread)
  table.insert(threads, thread)
end
function init(args)
  common.seed()
  limited, no_retry_after, redirected = 0, 0, 0
end
function request()
  return wrk.format("GET", "/" .. common.code(math.random(0, n - 1)), headers)
end
function response(status, hdrs, body)
  if status == 429 then
    limited = limited + 1
    if hdrs["Retry-After"] == nil then no_retry_after = no_retry_after + 1 end
  elseif status == 302 then
    redirected = redirected + 1
  end
end
function done(summary, latency, requests)
  local l, m, r = 0, 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("limited"); m = m + t:get("no_retry_after"); r = r + t:get("redirected")
  end
  io.write(string.format('BENCH_ABUSE {"limited":%d,"no_retry_after":%d,"redirected":%d}\n', l, m, r))
  common.done(summary, latency, requests)
end
