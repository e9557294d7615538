#!/usr/bin/env bash
# Cluster benchmark: the shared cpu-only dataset of ../shared/bench loaded into one influx-rs
# and into a 3-node cluster (three influx-rs on one NATS JetStream cluster of three servers,
# replicas 3) on this same machine, in one run: ingest values/s and the ratio, the time the
# other nodes need to apply the whole load (apply lag), and the write latency (p50/p99) at half
# the cluster's ingest rate. Every point of the cluster is stored three times by NATS and
# applied by three nodes on the same cores, so a third of the single node is the ceiling.
#
# Usage: bench/cluster.sh [--hosts 100] [--hours 24]   (idle machine; needs nats-server)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
HOSTS=100; HOURS=24
while [ $# -gt 0 ]; do case "$1" in
  --hosts) HOSTS=$2; shift 2;; --hours) HOURS=$2; shift 2;;
  *) echo "unknown $1"; exit 2;; esac; done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs
data="$work/cpu.lp"
python3 "$SHARED/gen_cpu.py" --hosts "$HOSTS" --hours "$HOURS" "$data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$1/ping" && return 0; sleep 0.1; done; echo "no ping on $1"; exit 1; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# --- one node ---------------------------------------------------------------------------------
single=$(free_port)
./target/release/influx-rs --bind 127.0.0.1:$single --data-dir "$work/single" > "$work/single.log" 2>&1 & pids+=($!)
wait_ping $single
curl -s -XPOST "http://127.0.0.1:$single/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
single_json=$(python3 "$SHARED/ingest.py" --json "http://127.0.0.1:$single/write?db=bench&precision=ns" "$data" | tail -1)
single_vps=$(field "$single_json" values_per_s)
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# --- three nodes on three NATS servers --------------------------------------------------------
routes=(); for i in 0 1 2; do routes+=("$(free_port)"); done
route_list="nats://127.0.0.1:${routes[0]},nats://127.0.0.1:${routes[1]},nats://127.0.0.1:${routes[2]}"
urls=""
for i in 0 1 2; do
  p=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$p" -sd "$work/nats$i" -n "nats$i" --cluster_name bench \
    --cluster "nats://127.0.0.1:${routes[$i]}" --routes "$route_list" > "$work/nats$i.log" 2>&1 & pids+=($!)
  urls="$urls${urls:+,}nats://127.0.0.1:$p"
done
nodes=()
for i in 1 2 3; do
  p=$(free_port); nodes+=("$p")
  INFLUX_RS_CLUSTER_NATS_URLS="$urls" INFLUX_RS_CLUSTER_NODE_ID="n$i" INFLUX_RS_CLUSTER_REPLICAS=3 \
    ./target/release/influx-rs --bind "127.0.0.1:$p" --data-dir "$work/n$i" > "$work/n$i.log" 2>&1 & pids+=($!)
done
for p in "${nodes[@]}"; do wait_ping "$p"; done
curl -s -XPOST "http://127.0.0.1:${nodes[0]}/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
cluster_json=$(python3 "$SHARED/ingest.py" --json "http://127.0.0.1:${nodes[0]}/write?db=bench&precision=ns" "$data" | tail -1)
loaded=$(date +%s.%N)
cluster_vps=$(field "$cluster_json" values_per_s)
# Apply lag: until every node has applied the log's last entry.
lag=none
for _ in $(seq 1 1200); do
  if curl -s "http://127.0.0.1:${nodes[0]}/cluster" | python3 -c '
import json,sys
h=json.load(sys.stdin); last=h["log"][1]
sys.exit(0 if len(h["nodes"])==3 and all(n["applied"]==last for n in h["nodes"]) else 1)'; then
    lag=$(python3 -c "import time; print(round(time.time()-$loaded, 2))"); break
  fi
  sleep 0.1
done
rows=$(curl -s -G "http://127.0.0.1:${nodes[2]}/query" --data-urlencode 'db=bench' --data-urlencode 'q=SELECT count(usage_user) FROM cpu' | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')
half=$(python3 -c "print($cluster_vps / 10 / 2)")
lat_json=$(python3 bench/write_latency.py "http://127.0.0.1:${nodes[1]}/write?db=bench" "$half" 10)

python3 - "$single_json" "$cluster_json" "$lat_json" "$lag" "$rows" <<'PY'
import json, sys
s, c, l = (json.loads(x) for x in sys.argv[1:4])
lag, rows = sys.argv[4], sys.argv[5]
print(f"dataset: {s['lines']} lines, {s['values']} values; node 3 counts {rows} rows of usage_user")
print(f"{'':32}{'1 node':>14}{'3-node cluster':>16}{'ratio':>8}")
print(f"{'ingest values/s':32}{s['values_per_s']:>14,.0f}{c['values_per_s']:>16,.0f}{c['values_per_s']/s['values_per_s']:>7.2f}x")
print(f"{'load request p50 / p99 ms':32}{s['req_latency_ms']['p50']:>7} /{s['req_latency_ms']['p99']:>6}{c['req_latency_ms']['p50']:>9} /{c['req_latency_ms']['p99']:>6}")
print(f"apply lag: every node applied the whole load {lag} s after the loader finished")
print(f"write latency at half the cluster's rate ({l['offered_lines_per_s']:,.0f} lines/s offered, "
      f"{l['achieved_lines_per_s']:,.0f} achieved, 500-line batches, 4 connections): "
      f"p50 {l['p50_ms']:.1f} ms, p99 {l['p99_ms']:.1f} ms, max {l['max_ms']:.1f} ms, {l['errors']} errors")
PY
