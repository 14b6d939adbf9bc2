-- One fixed URL (the wrk command line's path): the bare endpoint and the hot redirect.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup = common.setup
done = common.done
delay = common.delay
