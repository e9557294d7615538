#!/usr/bin/env bash
# Side-by-side benchmark of a wide measurement (issue #15: cost quadratic in the number of
# fields): one point of FIELDS fields written to InfluxDB 1.6.7 (Debian package `influxdb`) and
# to influx-rs in one run, then SHOW FIELD KEYS, SELECT * LIMIT 1, SELECT mean(*) and a
# one-field query timed on both. Prints seconds per step and the ratios.
#
# Usage: bench/wide.sh [FIELDS]   (default 100000; run by hand on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
FIELDS=${1:-100000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs
wait_ping() { for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$1/ping" && return 0; sleep 0.1; done; echo "no ping on $1"; exit 1; }

ref_port=28086
sed "s#@DIR@#$work/ref#g; s#127.0.0.1:8086#127.0.0.1:$ref_port#; s#127.0.0.1:8088#127.0.0.1:28088#" \
  "$SHARED/influxdb-reference.conf" > "$work/influxd.conf"
influxd -config "$work/influxd.conf" > "$work/influxd.log" 2>&1 & pids+=("$!")
rs_port=28087
./target/release/influx-rs --bind 127.0.0.1:$rs_port --data-dir "$work/rs" > "$work/rs.log" 2>&1 & pids+=("$!")
wait_ping $ref_port
wait_ping $rs_port
python3 bench/wide.py "$FIELDS" "InfluxDB-1.6.7=http://127.0.0.1:$ref_port" "influx-rs=http://127.0.0.1:$rs_port"
