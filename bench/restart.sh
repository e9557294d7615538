#!/usr/bin/env bash
# Issue #19's restart A/B: one data directory of SERIES series (bench/gen_cardinality.py, loaded
# once by the first build), then each build given restarted ROUNDS times in turn with the page
# cache dropped and max-series-per-database = LIMIT. For each restart it prints the time until
# /ping answers, RSS (and its anonymous part) then, the time of a first write of a new series,
# a count over the 1/20 of series of one region twice, RSS 5 s later, and the peak.
#
# Usage: bench/restart.sh [--series 1000000] [--limit 1500000] [--rounds 3] NAME=BINARY...
#   e.g. bench/restart.sh OLD=/tmp/old/influx-rs NEW=target/release/influx-rs
#   Run by hand as root (it drops the page cache) on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=1000000; LIMIT=1500000; ROUNDS=3; builds=()
while [ $# -gt 0 ]; do case "$1" in
  --series) SERIES=$2; shift 2;; --limit) LIMIT=$2; shift 2;; --rounds) ROUNDS=$2; shift 2;;
  *=*) builds+=("$1"); shift;;
  *) echo "unknown $1"; exit 2;; esac; done
[ ${#builds[@]} -gt 0 ] || { echo "give at least one NAME=BINARY"; exit 2; }
SHARED=${SHARED:-../shared/bench}
PORT=29086

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }
wait_ping() { for _ in $(seq 1 6000); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" && return 0; sleep 0.01; done; echo "no ping"; exit 1; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
count() { curl -s -G "http://127.0.0.1:$PORT/query?db=bench" --data-urlencode "q=SELECT count(usage) FROM cpu WHERE region='r7'" > /dev/null; }

printf '[data]\nmax-series-per-database = 0\nmax-values-per-tag = 0\n' > "$work/load.toml"
printf '[data]\nmax-series-per-database = %s\nmax-values-per-tag = 0\n' "$LIMIT" > "$work/limit.toml"
python3 bench/gen_cardinality.py "$SERIES" "$work/card.lp"
first=${builds[0]#*=}
"$first" --config "$work/load.toml" --bind "127.0.0.1:$PORT" --data-dir "$work/data" > "$work/load.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_ping
curl -s -XPOST "http://127.0.0.1:$PORT/query" --data-urlencode 'q=CREATE DATABASE bench' > /dev/null
python3 "$SHARED/ingest.py" --json --timeout 600 "http://127.0.0.1:$PORT/write?db=bench&precision=ns" "$work/card.lp" | tail -1
kill "$pid"; wait "$pid" 2>/dev/null || true

echo "$SERIES series, max-series-per-database = $LIMIT"
for round in $(seq 1 "$ROUNDS"); do
  for build in "${builds[@]}"; do
    name=${build%%=*}; bin=${build#*=}
    sync; echo 3 > /proc/sys/vm/drop_caches
    t0=$(now_ms)
    "$bin" --config "$work/limit.toml" --bind "127.0.0.1:$PORT" --data-dir "$work/data" > "$work/$name.log" 2>&1 &
    pid=$!; pids+=("$pid")
    wait_ping; t1=$(now_ms)
    rss0=$(kib "$pid" VmRSS); anon0=$(kib "$pid" RssAnon)
    t2=$(now_ms)
    code=$(printf 'cpu,host=new-%s-%s usage=1,idle=2 1\n' "$name" "$round" \
      | curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$PORT/write?db=bench" --data-binary @-)
    t3=$(now_ms)
    q0=$(now_ms); count; q1=$(now_ms); count; q2=$(now_ms)
    sleep 5
    rss1=$(kib "$pid" VmRSS); anon1=$(kib "$pid" RssAnon); hwm=$(kib "$pid" VmHWM)
    echo "$name round $round: /ping $((t1 - t0)) ms, RSS $((rss0 / 1024)) MiB (anon $((anon0 / 1024))); new-series write $code in $((t3 - t2)) ms; region count $((q1 - q0)) then $((q2 - q1)) ms; RSS 5 s later $((rss1 / 1024)) MiB (anon $((anon1 / 1024))), peak $((hwm / 1024)) MiB"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
