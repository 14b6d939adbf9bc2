-- Rate-limit fairness, the well-behaved side: redirects among BENCH_CODES warm codes, each request from
-- one of 512 client addresses (X-Forwarded-For, trusted from loopback), so no client nears its limit.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  local ip = string.format("198.51.100.%d", math.random(0, 255))
  if math.random() < 0.5 then ip = string.format("192.0.2.%d", math.random(0, 255)) end
  return wrk.format("GET", "/" .. common.code(math.random(0, n - 1)), { ["X-Forwarded-For"] = ip })
end
