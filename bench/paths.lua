-- wrk script of the tile benchmarks (tiles-edits.sh, tiles-vs-pg_tileserv.sh, replica.sh):
-- cycles through the paths in $PATHS, each thread from its own offset; gzip as browsers ask
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread) thread:set("offset", threads * 7919); threads = threads + 1 end
function init(args) i = offset or 0 end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
