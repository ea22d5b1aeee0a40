-- wrk script: POST /v1/track, one Segment event per request, each with a
-- unique messageId "<thread>-<request>". The same script is run against tally
-- and against nginx answering 204, so both do the same client-side work.
--
-- Environment: BENCH_AUTH (the Authorization header value, "Basic ...").
-- done() prints: WRK requests=N duration_us=N status_errors=N connect=N read=N write=N timeout=N

local threads = {}
local counter = 0
local head, mid, tail
local ts_sec, ts_str = -1, ""

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   head = '{"type":"track","event":"Signup Clicked","messageId":"t'
   mid = '","anonymousId":"'
   tail = '","properties":{"location":"header"},"context":{"ip":"198.51.100.7",' ..
      '"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",' ..
      '"page":{"url":"https://bench.example/pricing","path":"/pricing"},' ..
      '"library":{"name":"tally-bench","version":"1"}},"timestamp":"'
   wrk.method = "POST"
   wrk.path = "/v1/track"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = os.getenv("BENCH_AUTH") or ""
end

function request()
   counter = counter + 1
   local now = os.time()
   if now ~= ts_sec then
      ts_sec = now
      ts_str = os.date("!%Y-%m-%dT%H:%M:%SZ", now)
   end
   local body = head .. tid .. "-" .. counter .. mid .. "v-" .. (counter % 50000) .. tail .. ts_str .. '"}'
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRK requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
end
