#!/usr/bin/env python3
"""Times the shared TSBS-style query set against one server, or compares two runs.

  query_bench.py run URL QUERIES.txt OUT.json [--runs 7]
      GET URL/query?db=bench&q=... for each `name<TAB>query` line: 2 warm-up runs, then timed
      runs: at least --runs, and more (up to 1,000) until one second of them is spent, so that
      the sub-millisecond queries get a median of hundreds of runs instead of one a single
      hiccup of this shared machine can move; writes the median ms, the number of runs and
      the last response body per query. Requests
      go over one kept-alive connection, as the clients of both servers send them (the Python
      `influxdb` client's session, Chronograf, Grafana), so that connection setup in the
      client does not hide the servers' own times.
  query_bench.py compare REFERENCE.json OURS.json
      prints median times side by side, the speed-up, and whether the results are the same
      (floats equal to 1e-12 relative: summation order may differ in the last digit).

Stdlib only.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse


# Timed runs per query: at least `--runs`, then on until MIN_TIMED_MS are spent, at most MAX_RUNS.
MIN_TIMED_MS = 1000
MAX_RUNS = 1000


def run(url, queries_path, out_path, runs=7):
    results = {}
    server = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(server.hostname, server.port, timeout=600)
    for line in open(queries_path):
        if not line.strip() or line.startswith("#"):
            continue
        name, query = line.rstrip("\n").split("\t", 1)
        target = f"/query?db=bench&q={urllib.parse.quote(query)}"
        timings = []
        body = b""
        for i in range(2 + MAX_RUNS):
            start = time.perf_counter()
            conn.request("GET", target)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit(f"{name}: HTTP {r.status}: {body[:200]!r}")
            if i >= 2:
                timings.append((time.perf_counter() - start) * 1000)
                if len(timings) >= runs and sum(timings) >= MIN_TIMED_MS:
                    break
        results[name] = {
            "median_ms": statistics.median(timings),
            "runs": len(timings),
            "body": body.decode(),
        }
        print(f"{name:24} {results[name]['median_ms']:10.2f} ms  ({len(timings)} runs)",
              file=sys.stderr)
    json.dump(results, open(out_path, "w"))


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) \
                or not isinstance(b, (int, float)):
            return False
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def compare(ref_path, ours_path):
    ref, ours = json.load(open(ref_path)), json.load(open(ours_path))
    print(f"{'query':24}{'InfluxDB 1.6.7 ms':>19}{'influx-rs ms':>14}{'speed-up':>10}  same result")
    all_same = True
    for name, r in ref.items():
        o = ours[name]
        ok = same(json.loads(r["body"]), json.loads(o["body"]))
        all_same &= ok
        speed = r["median_ms"] / o["median_ms"] if o["median_ms"] else float("inf")
        print(f"{name:24}{r['median_ms']:19.2f}{o['median_ms']:14.2f}{speed:9.2f}x  {'yes' if ok else 'NO'}")
    return 0 if all_same else 1


if __name__ == "__main__":
    if sys.argv[1] == "run":
        runs = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--runs" else 7
        run(sys.argv[2], sys.argv[3], sys.argv[4], runs)
    elif sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: query_bench.py run URL QUERIES OUT.json | compare REF.json OURS.json")
