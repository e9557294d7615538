#!/usr/bin/env bash
# Issue #19's high-cardinality benchmark: SERIES distinct series with one point each (tags
# host = SERIES values, region = 20, rack = 100; two fields), loaded in 5,000-line batches over
# 4 connections into InfluxDB 1.6.7 with the inmem index, with tsi1, and into influx-rs, in one
# run, limits off (max-series-per-database = max-values-per-tag = 0). For each it prints the
# ingest rate, peak RSS during the load, RSS and time to /ping after a restart, the first
# query after the restart, the cardinality statements, a count over the 1/20 of series of one
# region, and bytes on disk per series, then influx-rs's ratios to each InfluxDB index.
#
# Usage: bench/cardinality.sh [--series 1000000] [--churn HOURS]
#   --churn 24: 100,000 series alive at a time, all replaced every hour, for 24 hours.
#   Run by hand on an otherwise idle machine; needs influxd (Debian's influxdb) installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
SERIES=1000000; CHURN=0
while [ $# -gt 0 ]; do case "$1" in
  --series) SERIES=$2; shift 2;; --churn) CHURN=$2; shift 2;;
  *) echo "unknown $1"; exit 2;; esac; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs
data="$work/card.lp"
if [ "$CHURN" -gt 0 ]; then
  python3 bench/gen_cardinality.py 0 "$data" --churn "$CHURN" --alive 100000
else
  python3 bench/gen_cardinality.py "$SERIES" "$data"
fi
lines=$(wc -l < "$data")
# Churned series live in hourly shards, so that an hour's series go cold with their shard.
SHARDS=""; [ "$CHURN" -gt 0 ] && SHARDS=" WITH SHARD DURATION 1h"
echo "dataset: $lines series, one point each$( [ "$CHURN" -gt 0 ] && echo ", churned hourly for $CHURN hours")"

now_ms() { date +%s%3N; }
wait_ping() { for _ in $(seq 1 3000); do curl -sf -o /dev/null "http://127.0.0.1:$1/ping" && return 0; sleep 0.01; done; echo "no ping on $1"; exit 1; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
# Milliseconds a statement takes (the answer must not be an error).
timed() {
  local port=$1 q=$2 t0 t1 body
  t0=$(now_ms)
  body=$(curl -s -G "http://127.0.0.1:$port/query?db=bench" --data-urlencode "q=$q")
  t1=$(now_ms)
  case "$body" in *'"error"'*) echo "ERROR from $port: $q: $body" >&2; exit 1;; esac
  echo "$((t1 - t0))"
}
QUERIES=(
  'SHOW TAG VALUES CARDINALITY WITH KEY = "host"'
  'SHOW SERIES CARDINALITY'
  'SHOW SERIES EXACT CARDINALITY'
  'SHOW MEASUREMENT CARDINALITY'
  "SELECT count(usage) FROM cpu WHERE region = 'r7'"
  "SHOW TAG VALUES WITH KEY = \"rack\" WHERE region = 'r7'"
  "SHOW SERIES WHERE region = 'r7' AND rack = 'k7' LIMIT 10"
  "SELECT count(usage) FROM cpu WHERE region = 'r7' AND rack =~ /k2.*/"
)

# Waits (at most 180 s) until the files under DIR have not changed for 3 s: the background
# compactions and index merges the load started are done, so that the restart that follows
# measures starting, not finishing the load's work (the same wait for each store).
settle() {
  local last="" now same=0
  for _ in $(seq 1 180); do
    now=$(find "$1" -type f -printf '%p %s\n' | sort | md5sum)
    if [ "$now" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 3 ] && return 0; else same=0; fi
    last=$now; sleep 1
  done
}

# run NAME PORT START-COMMAND…: load, let it settle, restart, query; appends one JSON object to $work/results.
run() {
  local name=$1 port=$2; shift 2
  "$@" > "$work/$name.log" 2>&1 & local pid=$!; pids+=("$pid")
  wait_ping "$port"
  curl -s -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE bench$SHARDS" > /dev/null
  local load
  load=$(python3 "$SHARED/ingest.py" --json --timeout 600 "http://127.0.0.1:$port/write?db=bench&precision=ns" "$data" | tail -1)
  local peak; peak=$(kib "$pid" VmHWM)
  settle "$work/$name"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local t0; t0=$(now_ms)
  "$@" > "$work/$name-2.log" 2>&1 & pid=$!; pids+=("$pid")
  wait_ping "$port"
  local ping_ms=$(( $(now_ms) - t0 ))
  local first_ms; first_ms=$(timed "$port" "SELECT usage FROM cpu WHERE host = 'h1' OR host = 'pod-1'")
  local rss_after; rss_after=$(kib "$pid" VmRSS)
  local q_ms=()
  for q in "${QUERIES[@]}"; do q_ms+=("$(timed "$port" "$q")"); done
  local rss_end; rss_end=$(kib "$pid" VmRSS)
  local answer
  answer=$(curl -s -G "http://127.0.0.1:$port/query?db=bench" --data-urlencode "q=${QUERIES[0]}")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local disk; disk=$(du -s --block-size=1 "$work/$name" | cut -f1)
  python3 - "$name" "$load" "$peak" "$ping_ms" "$first_ms" "$rss_after" "$rss_end" "$disk" "$answer" "${q_ms[@]}" >> "$work/results" <<'PY'
import json, sys
name, load, peak, ping, first, rss, rss_end, disk, answer = sys.argv[1:10]
q = list(map(int, sys.argv[10:]))
print(json.dumps({"name": name, "lines_per_s": json.loads(load)["lines_per_s"], "peak_kib": int(peak),
                  "ping_ms": int(ping), "first_ms": int(first), "rss_kib": int(rss), "rss_end_kib": int(rss_end),
                  "disk": int(disk), "queries_ms": q, "host_values": answer}))
PY
}

ref_conf() {
  sed "s#@DIR@#$work/$1#g; s#127.0.0.1:8086#127.0.0.1:$2#; s#127.0.0.1:8088#127.0.0.1:$3#;
       s#index-version = \"inmem\"#index-version = \"$4\"#;
       s#max-series-per-database = 1000000#max-series-per-database = 0#;
       s#max-values-per-tag = 100000#max-values-per-tag = 0#" \
    "$SHARED/influxdb-reference.conf" > "$work/$1.conf"
}
ref_conf inmem 28086 28088 inmem
ref_conf tsi1 28096 28098 tsi1
run inmem 28086 influxd -config "$work/inmem.conf"
run tsi1 28096 influxd -config "$work/tsi1.conf"
cat > "$work/rs.toml" <<TOML
[data]
max-series-per-database = 0
max-values-per-tag = 0
TOML
run influx-rs 28087 ./target/release/influx-rs --config "$work/rs.toml" --bind 127.0.0.1:28087 --data-dir "$work/influx-rs"

# A corrupt series index file: found at start, the index rebuilt from the column files and WAL.
rebuild_note="no index file to corrupt"
tkx=$(find "$work/influx-rs" -name '*.tkx' | sort | head -1)
if [ -n "$tkx" ]; then
  printf '\xff' | dd of="$tkx" bs=1 seek=9 conv=notrunc status=none
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now_ms)
  ./target/release/influx-rs --config "$work/rs.toml" --bind 127.0.0.1:28087 --data-dir "$work/influx-rs" > "$work/rebuild.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_ping 28087
  rebuild_ms=$(( $(now_ms) - t0 ))
  count=$(curl -s -G "http://127.0.0.1:28087/query?db=bench" --data-urlencode "q=SHOW SERIES EXACT CARDINALITY")
  rebuild_note="start with a corrupt index file (rebuilt from the column files and WAL): ${rebuild_ms} ms to /ping, RSS $(( $(kib "$pid" VmRSS) / 1024 )) MiB; then: $count"
  kill "$pid"; wait "$pid" 2>/dev/null || true
fi

python3 - "$work/results" "$lines" "${QUERIES[@]}" <<'PY'
import json, sys
rows = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
series, queries = int(sys.argv[2]), sys.argv[3:]
names = ["inmem", "tsi1", "influx-rs"]
hdr = f"{'':44}{'1.6.7 inmem':>13}{'1.6.7 tsi1':>13}{'influx-rs':>12}{'vs inmem':>10}{'vs tsi1':>9}"
print(hdr)
def row(label, key, fmt, better_low=True):
    vals = [key(rows[n]) for n in names]
    r = vals[2]
    ratio = lambda ref: (ref / r if better_low else r / ref) if r and ref else float("nan")
    print(f"{label:44}" + "".join(f"{fmt(v):>13}" for v in vals[:2]) + f"{fmt(vals[2]):>12}"
          + f"{ratio(vals[0]):>9.2f}x{ratio(vals[1]):>8.2f}x")
row("new-series ingest, lines/s", lambda r: r["lines_per_s"], lambda v: f"{v:,.0f}", better_low=False)
row("peak RSS during the load, MiB", lambda r: r["peak_kib"] / 1024, lambda v: f"{v:,.0f}")
row("RSS after a restart + first query, MiB", lambda r: r["rss_kib"] / 1024, lambda v: f"{v:,.0f}")
row("bytes of memory per series after restart", lambda r: r["rss_kib"] * 1024 / series, lambda v: f"{v:,.0f}")
row("restart until /ping answers, ms", lambda r: r["ping_ms"], lambda v: f"{v:,}")
row("first query after the restart, ms", lambda r: r["first_ms"], lambda v: f"{v:,}")
for i, q in enumerate(queries):
    row(f"{q[:42]}, ms", lambda r, i=i: r["queries_ms"][i], lambda v: f"{v:,}")
row("RSS after the queries, MiB", lambda r: r["rss_end_kib"] / 1024, lambda v: f"{v:,.0f}")
row("disk bytes per series (all files)", lambda r: r["disk"] / series, lambda v: f"{v:,.0f}")
print("(ratios: how many times better influx-rs is; < 1 means worse)")
for n in names:
    print(f"{n}: {rows[n]['host_values'][:160]}")
PY
echo "influx-rs, $rebuild_note"
