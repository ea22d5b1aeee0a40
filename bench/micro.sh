#!/usr/bin/env bash
# Micro-benchmarks of the ingest path's parts, one core each unless said:
# JSON parsing, JSON Schema validation, enrichment, HyperLogLog, the journal.
#   bash bench/micro.sh BUILD_DIR
# Output: each program's own lines, kept in BUILD_DIR/bench/micro.txt.
set -euo pipefail
B=${1:-build}
out="$B/bench/micro.txt"
mkdir -p "$B/bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "## bench_json (a 100-event Segment batch)"
  "$B/bench/bench_json"
  echo "## bench_schema 2 (a 10-property event against a 10-property schema)"
  "$B/bench/bench_schema" 2
  echo "## bench_enrich 2000000 2 (user agent, referrer, geo with the test database)"
  "$B/bench/bench_enrich" 2000000 2
  echo "## bench_hll"
  "$B/bench/bench_hll"
  echo "## bench_journal -s 5 (2 threads, batches of 100 x 400 bytes, fsync always)"
  "$B/bench/bench_journal" -d "$tmp/journal" -s 5
} 2>&1 | tee "$out"
