-- GET /{code} for a random code among BENCH_CODES seeded codes (k00000000 ...).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  return wrk.format("GET", "/" .. common.code(math.random(0, n - 1)))
end
