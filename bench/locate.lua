-- wrk script: GET /api/v1/locate at uniformly random points over the demo city
-- (scale 1: lon 118.700..118.744, lat 32.000..32.025; BBOX overrides "minLon,minLat,maxLon,maxLat").
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + id)
  local b = os.getenv("BBOX") or "118.700,32.000,118.744,32.025"
  local v = {}
  for x in string.gmatch(b, "[^,]+") do v[#v + 1] = tonumber(x) end
  minlon, minlat, maxlon, maxlat = v[1], v[2], v[3], v[4]
end
function request()
  local lon = minlon + math.random() * (maxlon - minlon)
  local lat = minlat + math.random() * (maxlat - minlat)
  return wrk.format("GET", string.format("/api/v1/locate?lon=%.7f&lat=%.7f", lon, lat))
end
