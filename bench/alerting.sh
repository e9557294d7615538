#!/usr/bin/env bash
# Alerting benchmarks.
#  1. Points/s through task pipelines on one core (criterion: `where → alert`, target
#     ≥ 1,000,000 points/s; `window → mean → alert`).
#  2. Write-to-e-mail latency: influx-rs (release) forwards writes at RATE points/s to
#     kapacitor-rs (release) through its subscription; a threshold task e-mails a real SMTP
#     server (aiosmtpd) ten times a second; p50/p99 from the store's 204 to the SMTP accept
#     (target p99 ≤ 50 ms at 10,000 points/s).
# Kapacitor itself is not packaged for Debian 12 and cannot be fetched here, so no side-by-side.
#
# Usage: bench/alerting.sh [RATE] [SECONDS]   (defaults 10000 20; needs `pip install aiosmtpd`)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-10000}; SECONDS_=${2:-20}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "== pipeline throughput (one core) =="
cargo bench -q -p kapacitor-rs --bench pipeline 2>/dev/null | grep -E "^pipeline|thrpt" || true

echo "== write-to-e-mail latency =="
cargo build --release -q -p influx-rs -p kapacitor-rs
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
store=$(free_port); api=$(free_port); smtp=$(free_port)
./target/release/influx-rs --bind "127.0.0.1:$store" --data-dir "$work/store" 2>"$work/store.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$store/ping" && break; sleep 0.1; done
curl -sf -XPOST "http://127.0.0.1:$store/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null
mkdir -p "$work/load/tasks"
cat > "$work/load/tasks/latency.tick" <<'TICK'
dbrp "bench"."autogen"

stream
    |from()
        .measurement('m')
        .groupBy('k')
    |alert()
        .crit(lambda: "v" > 100.0)
        .id('{{ index .Tags "k" }}')
        .message('{{ .ID }} is {{ .Level }} {{ index .Fields "seq" }}')
        .email('bench@example.com')
TICK
cat > "$work/kapacitor-rs.toml" <<CONF
hostname = "127.0.0.1"
data-dir = "$work/kapacitor"
[http]
bind-address = "127.0.0.1:$api"
[[influxdb]]
urls = ["http://127.0.0.1:$store"]
subscriptions-sync-interval = "1s"
[smtp]
enabled = true
host = "127.0.0.1"
port = $smtp
from = "kapacitor@example.com"
[load]
enabled = true
dir = "$work/load"
[alert-history]
enabled = false
CONF
./target/release/kapacitor-rs --config "$work/kapacitor-rs.toml" 2>"$work/kapacitor.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$store/query" --data-urlencode 'q=SHOW SUBSCRIPTIONS' | grep -q "$api" && break
  sleep 0.1
done
python3 bench/alerting_latency.py "$store" "$smtp" "$RATE" "$SECONDS_"
