#!/usr/bin/env bash
# Agent footprint: telegraf-rs (as scripts/build-agent builds it for hosts) with Telegraf's default inputs (cpu, disk,
# diskio, kernel, mem, processes, swap, system) plus net, at interval 1s, writing to a real
# influx-rs on loopback, for DURATION seconds. Prints peak RSS (VmHWM), CPU seconds per gather
# cycle and the metrics written, against the targets (≤ 15 MB, ≤ 5 ms per cycle). Telegraf itself
# is not packaged for Debian 12 and cannot be fetched here, so its figure (about 84 MB with the
# default 10,000-metric buffer, as reported) is quoted, not measured.
#
# collectd 5.12 (Debian's collectd-core), the C agent, runs next with the same plugins (cpu, df,
# disk, load, memory, processes, swap, interface, sending with its network plugin) at Interval 1
# for the same time: its peak RSS and CPU per cycle, side by side (issue #20's targets: host
# inputs <= 8 MiB and <= 3 ms, beating collectd on CPU). Skipped when collectd is not installed.
#
# Then statsd: the parse+aggregate rate on one core (target >= 500 k metrics/s), and a second
# agent run with the same inputs plus `docker` (when the engine answers), `procstat` (the
# store's process) and a statsd listener receiving 50 k metrics/s (peak RSS and CPU with that
# load).
#
# CPU seconds and peak RSS of each run come from wait4 through bench/rusage.py (every thread,
# microseconds), not from /proc/PID/stat's 10 ms clock ticks.
#
# Usage: bench/agent.sh [DURATION_SECONDS]   (default 60; run on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-60}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p influx-rs
agent_bin=$(scripts/build-agent)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/influx-rs --bind "127.0.0.1:$port" --data-dir "$work/store" 2>"$work/store.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/ping" && break; sleep 0.1; done

cat > "$work/telegraf.conf" <<CONF
[agent]
  interval = "1s"
  flush_interval = "1s"
[[outputs.influxdb]]
  urls = ["http://127.0.0.1:$port"]
[[inputs.cpu]]
[[inputs.disk]]
  ignore_fs = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"]
[[inputs.diskio]]
[[inputs.kernel]]
[[inputs.mem]]
[[inputs.processes]]
[[inputs.swap]]
[[inputs.system]]
[[inputs.net]]
CONF
# CPU and peak RSS come from wait4 (bench/rusage.py): every thread's time at microsecond precision.
python3 bench/rusage.py "$work/agent.rusage" "$agent_bin" --config "$work/telegraf.conf" --data-dir "$work/agent" 2>"$work/agent.log" &
agent=$!
pids+=($agent)
sleep "$DURATION"
kill -TERM "$agent"; wait "$agent" || true
read -r cpu_s hwm_kib < "$work/agent.rusage"
count() { curl -sf "http://127.0.0.1:$port/query" --data-urlencode "db=telegraf" --data-urlencode "q=$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["results"][0]["series"][0]["values"][0][1])'; }
cycles=$(count "SELECT count(uptime) FROM system")
points=$(python3 - "$port" <<'PY'
import json, sys, urllib.parse, urllib.request
port = sys.argv[1]
def q(s):
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"db": "telegraf", "q": s})
    return json.load(urllib.request.urlopen(url))
total = 0
for m in ["cpu", "disk", "diskio", "kernel", "mem", "processes", "swap", "system", "net"]:
    keys = [r[0] for r in q(f"SHOW FIELD KEYS FROM {m}")["results"][0]["series"][0]["values"]]
    r = q(f"SELECT count({keys[0]}) FROM {m} GROUP BY *")["results"][0].get("series", [])
    total += sum(s["values"][0][1] for s in r)
print(total)
PY
)
python3 - "$hwm_kib" "$cpu_s" "$cycles" "$points" "$DURATION" <<'PY'
import sys
hwm, cpu_s, cycles, points, duration = map(float, sys.argv[1:])
print(f"duration            {duration:.0f} s at interval 1s")
print(f"gather cycles       {cycles:.0f} (metrics stored: {points:.0f})")
print(f"peak RSS (VmHWM)    {hwm/1024:.2f} MiB ({hwm:.0f} KiB)   target <= 15 MB; Telegraf reported ~84 MB -> {84/(hwm*1024/1e6):.1f}x smaller")
print(f"CPU per cycle       {1000*cpu_s/max(cycles,1):.2f} ms (user+sys {cpu_s:.2f} s)   target <= 5 ms")
PY

# collectd, side by side.
if [ -x /usr/sbin/collectd ]; then
  cat > "$work/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
Interval 1
BaseDir "$work"
PIDFile "$work/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin df
LoadPlugin disk
LoadPlugin load
LoadPlugin memory
LoadPlugin processes
LoadPlugin swap
LoadPlugin interface
LoadPlugin network
<Plugin df>
  FSType tmpfs
  FSType devtmpfs
  FSType overlay
  IgnoreSelected true
</Plugin>
<Plugin network>
  Server "127.0.0.1" "$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
</Plugin>
CONF
  python3 bench/rusage.py "$work/collectd.rusage" /usr/sbin/collectd -f -C "$work/collectd.conf" > "$work/collectd.log" 2>&1 &
  cd_pid=$!
  pids+=($cd_pid)
  sleep "$DURATION"
  kill -TERM "$cd_pid"; wait "$cd_pid" || true
  read -r cd_cpu_s cd_hwm < "$work/collectd.rusage"
  python3 - "$hwm_kib" "$cpu_s" "$cycles" "$cd_hwm" "$cd_cpu_s" "$DURATION" <<'PY'
import sys
hwm, cpu_s, cycles, cd_hwm, cd_cpu_s, duration = map(float, sys.argv[1:])
ours = 1000 * cpu_s / max(cycles, 1)
theirs = 1000 * cd_cpu_s / duration
print(f"collectd 5.12, same plugins, Interval 1, {duration:.0f} s:")
print(f"  peak RSS (VmHWM)  {cd_hwm/1024:.2f} MiB   telegraf-rs {hwm/1024:.2f} MiB ({hwm/cd_hwm:.2f}x)   target <= 8 MiB")
print(f"  CPU per cycle     {theirs:.2f} ms   telegraf-rs {ours:.2f} ms ({ours/theirs:.2f}x)   target <= 3 ms and below collectd")
PY
fi

# statsd: one core's rate, then the agent under a 50 k/s statsd load.
cargo bench -q -p telegraf-rs --bench statsd 2>/dev/null | grep statsd
sport=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e '/^\[\[outputs.influxdb\]\]/i [[inputs.statsd]]\n  service_address = "127.0.0.1:'"$sport"'"\n  allowed_pending_messages = 100000' "$work/telegraf.conf" > "$work/statsd.conf"
printf '[[inputs.procstat]]\n  pattern = "influx-rs"\n' >> "$work/statsd.conf"
if docker info >/dev/null 2>&1; then
  printf '[[inputs.docker]]\n  endpoint = "unix:///var/run/docker.sock"\n' >> "$work/statsd.conf"
fi
python3 bench/rusage.py "$work/agent2.rusage" "$agent_bin" --config "$work/statsd.conf" --data-dir "$work/agent2" 2>"$work/agent2.log" &
agent=$!
pids+=($agent)
sleep 1
cargo bench -q -p telegraf-rs --bench statsd -- --send "127.0.0.1:$sport" --rate 50000 --seconds "$DURATION" 2>/dev/null
kill -TERM "$agent"; wait "$agent" || true
read -r cpu_s hwm_kib < "$work/agent2.rusage"
received=$(curl -sf "http://127.0.0.1:$port/query" --data-urlencode "db=telegraf" --data-urlencode "q=SELECT sum(value) FROM app_requests_b0,app_requests_b4" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(sum(s["values"][0][1] for s in v["results"][0].get("series", [])))')
python3 - "$hwm_kib" "$cpu_s" "$DURATION" "$received" <<'PY'
import sys
hwm, cpu_s, duration, received = map(float, sys.argv[1:])
sent_b0 = 50000 * duration / 1000 * 2
print(f"with procstat, docker (if the engine answers) and statsd at 50 k metrics/s for {duration:.0f} s:")
print(f"  peak RSS (VmHWM)  {hwm/1024:.1f} MiB")
print(f"  CPU               {100*cpu_s/duration:.1f} % of one core ({cpu_s:.2f} s)")
print(f"  counters received for two buckets: {received:.0f} of ~{sent_b0:.0f} sent ({100*received/max(sent_b0,1):.1f} %)")
PY
