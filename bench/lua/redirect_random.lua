-- GET /{code} for a random code among BENCH_CODES seeded codes (k00000000 ...). With BENCH_PREFIX
-- ("/livez?c=") the same per-request Lua work hits the bare endpoint instead: the random-code baseline.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local prefix = os.getenv("BENCH_PREFIX") or "/"
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  return wrk.format("GET", prefix .. common.code(math.random(0, n - 1)))
end
