#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — the figures in BENCHMARKS.md (`make bench` runs it).
#
# Starts `BUILD_DIR/tally serve` on a free loopback port with a fresh data
# directory (default fsync policy "always": group commit), then
#   a. wrk: POST /v1/batch, 100 events per request       -> events/s
#   b. wrk: POST /v1/track, one event per request, against tally and then
#      against nginx answering 204 on another port        -> requests/s, ratio
#   c. freshness: BUILD_DIR/bench/freshness sends probes while
#      `tally loadgen` adds background load               -> p50/p99/max ms
# and prints a markdown table. Raw outputs stay in BUILD_DIR/bench/.
# Every process it starts is stopped on exit (trap). It exits non-zero when a
# step fails (a tool missing, the server not answering, non-2xx answers, probes
# never visible); a missed target is reported, and fails the run only with
# BENCH_STRICT=1.
#
# Knobs (environment): BENCH_DURATION (wrk seconds, 20), BENCH_CONNS (32),
# BENCH_THREADS (wrk threads, 1), BENCH_PROBES (300), BENCH_BG_RATE (2000),
# BENCH_PERF=1 (perf record the server during step a, if perf works).
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TALLY=$BUILD/tally
FRESH=$BUILD/bench/freshness
OUT=$BUILD/bench
DUR=${BENCH_DURATION:-20}
CONNS=${BENCH_CONNS:-32}
THREADS=${BENCH_THREADS:-1}
PROBES=${BENCH_PROBES:-300}
BG_RATE=${BENCH_BG_RATE:-2000}

die() {
    echo "bench: $*" >&2
    exit 1
}

for tool in wrk nginx curl; do
    command -v "$tool" >/dev/null || die "$tool is not installed (Debian: apt-get install $tool)"
done
[ -x "$TALLY" ] || die "$TALLY not built (make $TALLY)"
[ -x "$FRESH" ] || die "$FRESH not built (make $FRESH)"
mkdir -p "$OUT"

TMP=$(mktemp -d /tmp/tally-bench.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on: ask the kernel for one, fall back to a random pick checked with ss.
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
        return
    fi
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -ltn | grep -q ":$p " || { echo $p; return; }
    done
}

wait_http() { # url seconds pid
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# CPU seconds (user+system) a process has used so far.
cpu_s() {
    local tck
    tck=$(getconf CLK_TCK)
    awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Reads the "WRK k=v ..." line of a wrk output file into W_* variables.
read_wrk() {
    local line
    line=$(grep '^WRK ' "$1") || die "no result line in $1 (see it)"
    for kv in ${line#WRK }; do
        eval "W_${kv%%=*}=${kv#*=}"
    done
}

run_wrk() { # script url output
    local t0 t1
    TIMEFORMAT='%U %S'
    { time wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$1" "$2" >"$3" 2>&1; } 2>"$3.cpu" ||
        die "wrk failed, see $3"
    read -r t0 t1 <"$3.cpu"
    WRK_CPU=$(awk -v u="$t0" -v s="$t1" -v d="$DUR" 'BEGIN { printf "%.2f", (u + s) / d }')
}

NCPU=$(nproc)
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "bench: $NCPU CPUs ($CPU_MODEL), kernel $(uname -r); wrk -t$THREADS -c$CONNS -d${DUR}s"

# ---- the server: a fresh one (empty data directory) for each step ----
# Each step starts from an empty server after `sync`, so a step does not pay for the
# previous one's writeback (step a leaves gigabytes of dirty pages and a large stream state)
# and does not dedup against it.
SERVER=
STEP=0
start_server() {
    if [ -n "$SERVER" ]; then
        kill -TERM "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
        rm -rf "$TMP/data"
    fi
    sync
    # the disk's fdatasync latency right now: single-event ingest is bound by it
    "$BUILD/bench/fsync_probe" "$TMP" 300 | sed 's/^/bench: disk: /'
    STEP=$((STEP + 1))
    PORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    "$TALLY" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" >"$OUT/server$STEP.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    wait_http "$BASE/healthz" 30 "$SERVER" || die "tally serve did not answer /healthz (see $OUT/server$STEP.log)"
    echo "bench: tally serve on $BASE (pid $SERVER, fresh data directory)"
    register_schemas
}

export BENCH_AUTH="Basic $(printf 'bench.example:' | base64)"

# The registry is in the loop: the bench events' subjects have schemas (bench/schemas.json),
# so every event is validated against a compiled JSON Schema and then enriched.
register_schemas() {
    while read -r line; do
        subject=$(node -e 'console.log(encodeURIComponent(JSON.parse(process.argv[1]).subject))' "$line")
        body=$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).body))' "$line")
        code=$(curl -sS -o "$OUT/register.json" -w '%{http_code}' -H 'Content-Type: application/json' \
            --data "$body" "$BASE/subjects/$subject/versions") || true
        [ "$code" = 200 ] || die "registering the schema for $subject answered $code: $(cat "$OUT/register.json")"
    done < <(node -e '
      const s = require(process.argv[1]);
      for (const [subject, schema] of Object.entries(s))
        console.log(JSON.stringify({ subject, body: { schemaType: "JSON", schema: JSON.stringify(schema) } }));
    ' "$ROOT/bench/schemas.json")
}

# ---- b. /v1/track: tally, then nginx ----
start_server
c0=$(cpu_s "$SERVER")
run_wrk "$ROOT/bench/track.lua" "$BASE/v1/track" "$OUT/wrk_track_tally.txt"
c1=$(cpu_s "$SERVER")
read_wrk "$OUT/wrk_track_tally.txt"
TRACK_RPS=$(awk -v r="$W_requests" -v d="$W_duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
TRACK_ERR=$((W_status_errors + W_connect + W_read + W_write + W_timeout))
TRACK_SRV_CPU=$(awk -v a="$c0" -v b="$c1" -v d="$DUR" 'BEGIN { printf "%.2f", (b - a) / d }')
TRACK_WRK_CPU=$WRK_CPU
TRACK_P99=$(awk '/^ +99%/ { print $2 }' "$OUT/wrk_track_tally.txt")
echo "bench: /v1/track on tally: $TRACK_RPS requests/s, non-2xx $W_status_errors, p99 $TRACK_P99;" \
    "CPU cores: server $TRACK_SRV_CPU, wrk $TRACK_WRK_CPU"
[ "$TRACK_ERR" = 0 ] || die "/v1/track: $W_status_errors non-2xx answers and" \
    "$((W_connect + W_read + W_write + W_timeout)) socket errors (see $OUT/wrk_track_tally.txt)"

NPORT=$(free_port)
NGX=$TMP/nginx
mkdir -p "$NGX"
sed -e "s|@PORT@|$NPORT|g" -e "s|@PREFIX@|$NGX|g" "$ROOT/bench/nginx.conf" >"$NGX/nginx.conf"
nginx -p "$NGX" -c "$NGX/nginx.conf" -e stderr >"$OUT/nginx.log" 2>&1 &
NGINX=$!
PIDS+=("$NGINX")
NBASE=http://127.0.0.1:$NPORT
for ((i = 0; i < 50; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$NBASE/v1/track" || true)
    [ "$code" = 204 ] && break
    kill -0 "$NGINX" 2>/dev/null || die "nginx did not start (see $OUT/nginx.log)"
    sleep 0.1
done
[ "$code" = 204 ] || die "nginx did not answer 204 (see $OUT/nginx.log)"
run_wrk "$ROOT/bench/track.lua" "$NBASE/v1/track" "$OUT/wrk_track_nginx.txt"
read_wrk "$OUT/wrk_track_nginx.txt"
NGINX_RPS=$(awk -v r="$W_requests" -v d="$W_duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
NGINX_WRK_CPU=$WRK_CPU
NGINX_P99=$(awk '/^ +99%/ { print $2 }' "$OUT/wrk_track_nginx.txt")
[ $((W_status_errors + W_connect + W_read + W_write + W_timeout)) = 0 ] ||
    die "nginx: errors (see $OUT/wrk_track_nginx.txt)"
kill "$NGINX" 2>/dev/null || true
wait "$NGINX" 2>/dev/null || true
RATIO=$(awk -v a="$TRACK_RPS" -v b="$NGINX_RPS" 'BEGIN { printf "%.2f", a / b }')
echo "bench: /v1/track on nginx: $NGINX_RPS requests/s, p99 $NGINX_P99, wrk CPU $NGINX_WRK_CPU;" \
    "tally/nginx = $RATIO"

# ---- c. freshness under background load ----
start_server
"$TALLY" loadgen --url "$BASE" --rate "$BG_RATE" --batch 10 --connections 4 --duration 3600 \
    >"$OUT/loadgen.txt" 2>&1 &
LOADGEN=$!
PIDS+=("$LOADGEN")
sleep 2
kill -0 "$LOADGEN" 2>/dev/null || die "tally loadgen exited early (see $OUT/loadgen.txt)"
FRESH_OK=1
"$FRESH" --url "$BASE" --site probe.bench --n "$PROBES" --timeout-ms 2000 >"$OUT/freshness.txt" 2>&1 ||
    FRESH_OK=0
kill -TERM "$LOADGEN" 2>/dev/null || true
wait "$LOADGEN" 2>/dev/null || true
line=$(grep '^FRESHNESS ' "$OUT/freshness.txt") || die "freshness printed no result (see $OUT/freshness.txt)"
for kv in ${line#FRESHNESS }; do
    eval "F_${kv%%=*}=${kv#*=}"
done
BG_EPS=$(awk '/events sent/ { gsub(/[()\/s]/, "", $4); print $4 }' "$OUT/loadgen.txt")
echo "bench: freshness: $F_ok/$F_n visible ($F_first_poll at the first poll), p50 $F_p50_ms ms, p99 $F_p99_ms ms, max $F_max_ms ms" \
    "(background load ${BG_EPS:-?} events/s)"

# ---- a. /v1/batch ----
# Last: it writes gigabytes, and the host keeps flushing them for a while after `sync`,
# which would slow the fdatasyncs of any step after it (the disk line above each step shows).
start_server
probe=$(curl -sS -o /dev/null -w '%{http_code}' -u bench.example: -H 'Content-Type: application/json' \
    --data '{"batch":[{"type":"track","event":"x","messageId":"run-sh-check","anonymousId":"a"}]}' \
    "$BASE/v1/batch") || true
[ "$probe" = 200 ] || die "POST /v1/batch answered $probe, expected 200"

PERF_PID=
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    perf record -g -o "$OUT/perf.data" -p "$SERVER" -- sleep "$DUR" >"$OUT/perf.log" 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
fi
c0=$(cpu_s "$SERVER")
run_wrk "$ROOT/bench/batch.lua" "$BASE" "$OUT/wrk_batch.txt"
c1=$(cpu_s "$SERVER")
read_wrk "$OUT/wrk_batch.txt"
BATCH_RPS=$(awk -v r="$W_requests" -v d="$W_duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
BATCH_EPS=$((BATCH_RPS * 100))
BATCH_ERR=$((W_status_errors + W_connect + W_read + W_write + W_timeout))
BATCH_SRV_CPU=$(awk -v a="$c0" -v b="$c1" -v d="$DUR" 'BEGIN { printf "%.2f", (b - a) / d }')
BATCH_WRK_CPU=$WRK_CPU
BATCH_P99=$(awk '/^ +99%/ { print $2 }' "$OUT/wrk_batch.txt")
# a 200 may still list rejected events: the figure counts only if none was rejected
REJECTED=$(curl -sS "$BASE/metrics" | awk '/^tally_ingest_events_rejected_total/ { s += $2 } END { print s + 0 }')
[ "$REJECTED" = 0 ] || die "$REJECTED bench events were rejected (see $BASE/api/v2/deadletters)"
echo "bench: /v1/batch: $BATCH_RPS requests/s = $BATCH_EPS events/s, non-2xx $W_status_errors," \
    "socket errors $((W_connect + W_read + W_write + W_timeout)), p99 $BATCH_P99;" \
    "CPU cores: server $BATCH_SRV_CPU, wrk $BATCH_WRK_CPU"
if [ -n "$PERF_PID" ]; then
    wait "$PERF_PID" || true
    perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -40 >"$OUT/perf_batch.txt" || true
fi
[ "$BATCH_ERR" = 0 ] || die "/v1/batch: $W_status_errors non-2xx answers and" \
    "$((W_connect + W_read + W_write + W_timeout)) socket errors (see $OUT/wrk_batch.txt)"

# ---- the table ----
verdict() { # value op threshold
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'
}
V_BATCH=$(verdict "$BATCH_EPS" ">=" 250000)
V_TRACK=$(verdict "$RATIO" ">=" 0.6)
V_FRESH=$(verdict "$F_p99_ms" "<=" 100)
# percentiles over no samples say nothing: at least 97% of the probes must have been seen
[ $((F_ok * 100)) -ge $((F_n * 97)) ] || V_FRESH=MISSED
TABLE=$OUT/results.md
{
    echo "| benchmark | result | target (goal) | verdict |"
    echo "|---|---|---|---|"
    echo "| /v1/batch, 100 events/request, wrk -t$THREADS -c$CONNS -d${DUR}s | $BATCH_EPS events/s ($BATCH_RPS req/s, p99 $BATCH_P99) | ≥ 250,000 (500,000) events/s | $V_BATCH |"
    echo "| /v1/track, 1 event/request, tally | $TRACK_RPS req/s (p99 $TRACK_P99) | | |"
    echo "| /v1/track, same script, nginx \`return 204\` | $NGINX_RPS req/s (p99 $NGINX_P99) | | |"
    echo "| /v1/track tally / nginx | $RATIO | ≥ 0.6 (0.9) | $V_TRACK |"
    echo "| freshness, $F_n probes, background ${BG_EPS:-?} events/s | p50 $F_p50_ms ms, p99 $F_p99_ms ms, max $F_max_ms ms ($F_first_poll/$F_n visible at the first poll; $F_timeouts sketch misses; $F_counted/$F_n counted exactly) | p99 ≤ 100 ms | $V_FRESH |"
    echo
    echo "CPU cores used during step a: server $BATCH_SRV_CPU, wrk $BATCH_WRK_CPU;" \
        "step b (tally): server $TRACK_SRV_CPU, wrk $TRACK_WRK_CPU; step b (nginx): wrk $NGINX_WRK_CPU" \
        "(of $NCPU)."
} >"$TABLE"
echo
cat "$TABLE"

[ "$FRESH_OK" = 1 ] || die "freshness: probes lost or not visible: $F_counted/$F_n counted," \
    "$F_timeouts did not show in the visitor count (see $OUT/freshness.txt)"
if [ "${BENCH_STRICT:-0}" = 1 ]; then
    [ "$V_BATCH$V_TRACK$V_FRESH" = metmetmet ] || die "a target was missed"
fi
exit 0
