-- wrk script: POST /v1/batch with 100 Segment track events per request.
--
-- Every event gets a unique messageId "<thread>-<request>-<i>" (so the
-- server's dedup never drops one) and one of ~1M anonymousIds. The body is
-- pre-split around those slots once; a request is one table.concat, so the
-- script costs wrk little CPU beside the server.
--
-- Environment: BENCH_AUTH (the Authorization header value, "Basic ...").
-- done() prints a machine line for bench/run.sh:
--   WRK requests=N duration_us=N status_errors=N connect=N read=N write=N timeout=N

local EVENTS = 100
local threads = {}
local counter = 0
local pieces = nil
local ts_sec, ts_str = -1, ""

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local function event_parts(i)
   -- returns the text before the messageId, between messageId and anonymousId,
   -- and between anonymousId and timestamp, and the tail
   local ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
   local path = ({"/", "/pricing", "/blog/event-time", "/docs/install", "/products/1007"})[(i % 5) + 1]
   return {
      (i > 0 and "," or "") .. '{"type":"track","event":"Product Viewed","messageId":"',
      '","anonymousId":"',
      '","properties":{"product_id":"p-' .. (1000 + i) .. '","price":19.99,"currency":"USD"},' ..
         '"context":{"ip":"203.0.113.' .. (i + 1) .. '","userAgent":"' .. ua .. '",' ..
         '"page":{"url":"https://bench.example' .. path .. '","path":"' .. path .. '",' ..
         '"referrer":"https://www.google.com/"},"library":{"name":"tally-bench","version":"1"}},' ..
         '"timestamp":"',
      '"}'
   }
end

function init(args)
   pieces = {}
   for i = 0, EVENTS - 1 do
      pieces[i] = event_parts(i)
   end
   wrk.method = "POST"
   wrk.path = "/v1/batch"
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
   local prefix = tid .. "-" .. counter .. "-"
   local visitor = (counter * 7 + tid * 100003) % 10000
   local out = {'{"batch":['}
   local n = 1
   for i = 0, EVENTS - 1 do
      local p = pieces[i]
      out[n + 1] = p[1]
      out[n + 2] = prefix .. i
      out[n + 3] = p[2]
      out[n + 4] = "v-" .. visitor .. "-" .. i
      out[n + 5] = p[3]
      out[n + 6] = ts_str
      out[n + 7] = p[4]
      n = n + 7
   end
   out[n + 1] = "]}"
   return wrk.format(nil, nil, nil, table.concat(out))
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRK requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
end
