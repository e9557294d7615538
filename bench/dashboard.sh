#!/usr/bin/env bash
# Dashboard speed (issue #6's benchmark): influx-rs and chronograf-rs (release builds) on
# loopback with 28 h of 10 s data for 100 hosts (cpu, system, mem, disk: 4 M points). Prints
# the server time (p50/p95 over repeated runs) for one host page over 24 h (HTML plus the data
# of all its cells) and for a dashboard of 8 line cells of raw data (8 × 10,080 points), and
# the browser time dygraphs takes to draw each of those series in headless Chromium. Then issue
# #21's: 7 days of the shared cpu dataset (../shared/bench, 10 hosts) under a 12-cell dashboard
# whose :interval: follows each chart's width: server time for the page and all its data, the
# draw time per chart, and the size of the CSS and JavaScript a page loads, gzipped as served.
# The original Chronograf cannot be fetched here, so there is no side-by-side run; the
# figures are set against the issue's targets (host page ≤ 100 ms p50, ≤ 50 ms per series).
#
# Usage: bench/dashboard.sh   (run on an otherwise idle machine; needs chromium,
#                              chromium-driver and python3-selenium as the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs -p chronograf-rs
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
store=$(free_port)
dash=$(free_port)
./target/release/influx-rs --bind "127.0.0.1:$store" --data-dir "$work/store" 2>"$work/store.log" &
pids+=($!)
./target/release/chronograf-rs --bind "127.0.0.1:$dash" --influxdb-url "http://127.0.0.1:$store" \
  --data-dir "$work/chronograf" --kapacitor-url http://127.0.0.1:9 --telegraf-system-interval 10s \
  2>"$work/chronograf.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$store/ping" && curl -sf -o /dev/null "http://127.0.0.1:$dash/ping" && break
  sleep 0.1
done
python3 bench/dashboard.py "http://127.0.0.1:$store" "http://127.0.0.1:$dash" ../shared/bench
