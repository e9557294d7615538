#!/usr/bin/env bash
# Side-by-side ingest benchmark: the TSBS-style cpu-only dataset of ../shared/bench loaded into
# InfluxDB 1.6.7 (Debian package `influxdb`) and into influx-rs with the same loader, in one run.
# Prints values/s, peak RSS (VmHWM) and bytes on disk per value once settled, and the ratios.
#
# With --queries (cpu dataset), the shared query set (../shared/bench/queries.txt) is also timed
# on both settled servers with bench/query_bench.py, and the results compared.
#
# Usage: bench/ingest.sh [--hosts 100] [--hours 24] [--dataset cpu|float|irregular] [--queries]
#   (run by hand on an otherwise idle machine; needs influxd installed). `float` and `irregular`
#   are bench/variants.py transforms of the same dataset: float fields, jittered timestamps.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
HOSTS=100; HOURS=24; DATASET=cpu; QUERIES=no
while [ $# -gt 0 ]; do case "$1" in
  --hosts) HOSTS=$2; shift 2;; --hours) HOURS=$2; shift 2;; --dataset) DATASET=$2; shift 2;;
  --queries) QUERIES=yes; shift;;
  *) echo "unknown $1"; exit 2;; esac; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs
data="$work/cpu.lp"
python3 "$SHARED/gen_cpu.py" --hosts "$HOSTS" --hours "$HOURS" "$data"
if [ "$DATASET" != cpu ]; then
  python3 bench/variants.py "$DATASET" "$data" "$data.$DATASET"
  mv "$data.$DATASET" "$data"
fi
echo "dataset: $DATASET"
lines=$(wc -l < "$data")
values=$((lines * 10))

wait_ping() { for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$1/ping" && return 0; sleep 0.1; done; echo "no ping on $1"; exit 1; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
alloc_bytes() { du -s --block-size=1 "$1" | cut -f1; }
# Reads every row as `chunked=true` JSON lines (as `influx -import`-style dumps and the Python
# client's `chunked=True` do); prints the server's peak RSS since its start, in KiB.
chunked_read_peak_kib() {
  curl -s -G "http://127.0.0.1:$1/query?db=bench&chunked=true" --data-urlencode 'q=SELECT * FROM cpu' > /dev/null
  peak_rss_kib "$2"
}

# --- InfluxDB 1.6.7 -------------------------------------------------------------------------
ref_port=28086
sed "s#@DIR@#$work/ref#g; s#127.0.0.1:8086#127.0.0.1:$ref_port#; s#127.0.0.1:8088#127.0.0.1:28088#" \
  "$SHARED/influxdb-reference.conf" > "$work/influxd.conf"
influxd -config "$work/influxd.conf" > "$work/influxd.log" 2>&1 & ref=$!; pids+=("$ref")
wait_ping $ref_port
curl -s -XPOST "http://127.0.0.1:$ref_port/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
ref_json=$(python3 "$SHARED/ingest.py" --json "http://127.0.0.1:$ref_port/write?db=bench&precision=ns" "$data" | tail -1)
ref_rss=$(peak_rss_kib $ref)
kill $ref; wait $ref 2>/dev/null || true
# Settle: restart with short cold durations so the WAL becomes TSM files and compacts.
INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION=5s INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION=15s \
  influxd -config "$work/influxd.conf" > "$work/influxd2.log" 2>&1 & ref=$!; pids+=("$ref")
wait_ping $ref_port; sleep 45
if [ "$QUERIES" = yes ]; then
  python3 bench/query_bench.py run "http://127.0.0.1:$ref_port" "$SHARED/queries.txt" "$work/ref-queries.json"
  ref_chunked_kib=$(chunked_read_peak_kib $ref_port $ref)
fi
ref_tsm=$(find "$work/ref/data" -name '*.tsm' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
ref_all=$(alloc_bytes "$work/ref")
kill $ref; wait $ref 2>/dev/null || true

# --- influx-rs ------------------------------------------------------------------------------
rs_port=28087
./target/release/influx-rs --bind 127.0.0.1:$rs_port --data-dir "$work/rs" > "$work/rs.log" 2>&1 & rs=$!; pids+=("$rs")
wait_ping $rs_port
curl -s -XPOST "http://127.0.0.1:$rs_port/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
rs_json=$(python3 "$SHARED/ingest.py" --json "http://127.0.0.1:$rs_port/write?db=bench&precision=ns" "$data" | tail -1)
rs_rss=$(peak_rss_kib $rs)
kill $rs; wait $rs 2>/dev/null || true     # SIGTERM: clean stop snapshots the caches
cat > "$work/rs.toml" <<TOML
[data]
compact-full-write-cold-duration = "5s"
TOML
./target/release/influx-rs --config "$work/rs.toml" --bind 127.0.0.1:$rs_port --data-dir "$work/rs" > "$work/rs2.log" 2>&1 & rs=$!; pids+=("$rs")
wait_ping $rs_port; sleep 15
if [ "$QUERIES" = yes ]; then
  python3 bench/query_bench.py run "http://127.0.0.1:$rs_port" "$SHARED/queries.txt" "$work/rs-queries.json"
  rs_chunked_kib=$(chunked_read_peak_kib $rs_port $rs)
fi
rs_count=$(curl -s -G "http://127.0.0.1:$rs_port/query?db=bench" --data-urlencode 'q=SELECT usage_user FROM cpu' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"][0]["series"][0]["values"]))')
rs_all=$(alloc_bytes "$work/rs")
kill $rs; wait $rs 2>/dev/null || true

python3 - "$ref_json" "$rs_json" "$ref_rss" "$rs_rss" "$ref_tsm" "$ref_all" "$rs_all" "$values" "$lines" "$rs_count" <<'PY'
import json, sys
ref, rs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ref_rss, rs_rss, ref_tsm, ref_all, rs_all, values, lines, rs_count = map(int, sys.argv[3:])
print(f"dataset: {lines} lines, {values} values; influx-rs read back {rs_count} rows of usage_user")
if rs_count != lines:
    sys.exit(f"DATA LOSS: influx-rs served {rs_count} of {lines} rows")
print(f"{'':28}{'InfluxDB 1.6.7':>18}{'influx-rs':>14}{'ratio':>8}")
rv, sv = ref["values_per_s"], rs["values_per_s"]
print(f"{'ingest values/s':28}{rv:>18,.0f}{sv:>14,.0f}{sv/rv:>7.2f}x")
print(f"{'peak RSS MiB':28}{ref_rss/1024:>18.0f}{rs_rss/1024:>14.0f}{rs_rss/ref_rss:>7.2f}x")
print(f"{'bytes/value (TSM | all)':28}{ref_tsm/values:>9.2f} | {ref_all/values:<6.2f}{rs_all/values:>14.2f}{(rs_all/values)/(ref_tsm/values):>7.2f}x")
print("raw loader output:", json.dumps(ref), json.dumps(rs))
PY

if [ "$QUERIES" = yes ]; then
  echo
  python3 bench/query_bench.py compare "$work/ref-queries.json" "$work/rs-queries.json" || { echo "RESULTS DIFFER"; exit 1; }
  echo "peak RSS of the query-serving process after a chunked read of every row (SELECT * FROM cpu):" \
    "InfluxDB 1.6.7 $((ref_chunked_kib / 1024)) MiB, influx-rs $((rs_chunked_kib / 1024)) MiB"
fi
