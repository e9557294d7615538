#!/usr/bin/env python3
"""Write latency at a fixed rate: POSTs batches of BATCH lines (10 fields each, new series
times) to URL so that RATE lines/s are offered for SECONDS, over CONNS keep-alive connections,
and prints p50/p99/max request latency (ms) and the rate achieved as one JSON line.

Usage: write_latency.py URL RATE SECONDS [--batch 500] [--conns 4]
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("rate", type=float, help="lines per second offered")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--conns", type=int, default=4)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    path = u.path + ("?" + u.query if u.query else "")
    batches = int(a.rate * a.seconds / a.batch)
    interval = a.batch / a.rate  # seconds between batches, over all connections
    start = time.time() + 0.2
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(batches))

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            due = start + n * interval
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            base = 1_600_000_000_000_000_000 + n * a.batch * 1000
            body = "".join(
                f"lat,host=h{i % 100},n={n % 7} "
                + ",".join(f"f{k}={i + k}i" for k in range(10))
                + f" {base + i}\n"
                for i in range(a.batch)
            ).encode()
            t0 = time.perf_counter()
            conn.request("POST", path, body=body)
            r = conn.getresponse()
            r.read()
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if r.status // 100 == 2:
                    latencies.append(ms)
                else:
                    errors.append(r.status)

    threads = [threading.Thread(target=worker) for _ in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None
    print(json.dumps({
        "offered_lines_per_s": a.rate,
        "achieved_lines_per_s": len(latencies) * a.batch / elapsed,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] if latencies else None,
    }))


if __name__ == "__main__":
    main()
