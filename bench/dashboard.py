#!/usr/bin/env python3
"""Loads 28 h of 10 s data for 100 hosts (10,080 points per series) into a store, then times chronograf-rs's host page and
an 8-cell dashboard on the server, and dygraphs' drawing in headless Chromium (issue #6). Then issue #21's: 7 days of the
shared cpu dataset (../shared/bench/gen_cpu.py, 10 hosts) in database `bench`, a 12-cell dashboard over those 7 days
(its `:interval:` computed from each chart's width, as the page does), the server time for the page and all its data, the
browser time to draw each chart, and the embedded assets' size as served (gzipped).

  dashboard.py STORE_URL CHRONOGRAF_URL SHARED_BENCH_DIR

Run by bench/dashboard.sh. Stdlib, plus selenium for the browser part.
"""
import html
import json
import re
import statistics
import sys
import time
import urllib.request

HOSTS = 100
STEP_S = 10
POINTS = 28 * 3600 // STEP_S  # 10,080 per series


# What a script sends to chronograf-rs to change anything: any value as both the CSRF cookie and
# header (the store ignores them).
CSRF = {"Cookie": "tick_csrf=bench", "X-CSRF-Token": "bench"}


def post(url, body, content_type="text/plain"):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type, **CSRF})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def load(store):
    post(store + "/query?q=CREATE+DATABASE+telegraf", b"")
    end = int(time.time()) // STEP_S * STEP_S
    start = end - POINTS * STEP_S
    written = 0
    t0 = time.perf_counter()
    for h in range(HOSTS):
        lines = []
        for i in range(POINTS):
            t = (start + i * STEP_S) * 1_000_000_000
            busy = (h * 7 + i) % 50
            lines.append(f"cpu,cpu=cpu-total,host=h{h} usage_user={busy}.5,usage_idle={99 - busy}.5 {t}")
            lines.append(f"system,host=h{h} load1={busy / 10},uptime={i * STEP_S}i {t}")
            lines.append(f"mem,host=h{h} used={2_000_000_000 + busy * 1000}i,available=4000000000i {t}")
            lines.append(f"disk,host=h{h},path=/ used_percent={40 + busy / 10} {t}")
        post(store + "/write?db=telegraf", "\n".join(lines).encode())
        written += len(lines)
    print(f"loaded {written:,} points ({HOSTS} hosts x 28 h at {STEP_S} s) in {time.perf_counter() - t0:.1f} s")


def timed(f, runs):
    f()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def page_queries(page):
    """The cell queries a page asks its charts to run."""
    out = []
    for m in re.finditer(r'data-db="([^"]*)" data-rp="[^"]*" data-queries="([^"]*)"', page):
        for q in json.loads(html.unescape(m.group(2))):
            out.append((html.unescape(m.group(1)), q))
    return out


def page_with_data(dash, path):
    def run():
        with urllib.request.urlopen(dash + path, timeout=60) as r:
            page = r.read().decode()
        for db, q in page_queries(page):
            post(dash + "/chronograf/v1/sources/1/series", json.dumps({"db": db, "rp": "", "query": q}).encode(),
                 "application/json")
    return run


def main():
    store, dash, shared = sys.argv[1:4]
    load(store)
    cells = [{"name": f"h{k} user", "type": "line", "x": (k % 4) * 3, "y": (k // 4) * 4, "w": 3, "h": 4,
              "queries": [{"db": "telegraf", "query":
                           f"SELECT usage_user FROM cpu WHERE host = 'h{k}' AND time > :dashboardTime:"}]}
             for k in range(8)]
    d = json.loads(post(dash + "/chronograf/v1/dashboards", json.dumps({"name": "bench", "cells": cells}).encode(),
                        "application/json"))
    print(f"{'server time (sequential requests)':44}{'p50 ms':>8}{'p95 ms':>8}  target")
    p50, p95 = timed(lambda: urllib.request.urlopen(dash + "/sources/1/hosts/h7?range=24h").read(), 30)
    print(f"{'host page HTML':44}{p50:8.1f}{p95:8.1f}")
    p50, p95 = timed(page_with_data(dash, "/sources/1/hosts/h7?range=24h"), 15)
    print(f"{'host page + data of its 7 cells, 24 h':44}{p50:8.1f}{p95:8.1f}  p50 <= 100")
    p50, p95 = timed(page_with_data(dash, f"/sources/1/dashboards/{d['id']}?range=2d"), 10)
    print(f"{'dashboard, 8 line cells x 10,080 points':44}{p50:8.1f}{p95:8.1f}")
    # Each cell draws one host's 10,080 raw points.
    browser_draws(f"{dash}/sources/1/dashboards/{d['id']}?range=2d", 8, "8 cells of raw points")
    product(store, dash, shared)


SHARED_HOSTS = 10
SHARED_DAYS = 7
SHARED_START_MS = 1451606400000  # gen_cpu.py's default start, 2016-01-01
FIELDS = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq", "usage_softirq",
          "usage_steal", "usage_guest", "usage_guest_nice"]
CHART_PX = 430  # a 4-column cell of the 12-column grid in a 1400 px window


def interval_for(range_ms, width_px):
    """What the page's script puts for :interval: (one point per 3 pixels)."""
    return f"{max(1, -(-range_ms // max(1, width_px // 3)))}ms"


def product(store, dash, shared):
    """Issue #21's dashboard benchmark."""
    import os
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        lp = os.path.join(tmp, "cpu.lp")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(shared, "gen_cpu.py"), "--hosts", str(SHARED_HOSTS), "--hours",
                        str(24 * SHARED_DAYS), lp], check=True, stdout=subprocess.DEVNULL)
        post(store + "/query?q=CREATE+DATABASE+bench", b"")
        subprocess.run([sys.executable, os.path.join(shared, "ingest.py"), store + "/write?db=bench&precision=ns", lp],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"\nshared cpu dataset: {SHARED_HOSTS} hosts x {SHARED_DAYS} days at 10 s "
              f"({SHARED_HOSTS * SHARED_DAYS * 8640:,} lines) generated and loaded in {time.perf_counter() - t0:.1f} s")
    cells = []
    for k in range(12):
        x, y = (k % 3) * 4, (k // 3) * 4
        if k % 4 == 3:
            q = (f'SELECT mean("{FIELDS[k % 10]}") FROM "cpu" WHERE time > :dashboardTime: AND time < :upperDashboardTime: '
                 f'GROUP BY time(:interval:), "hostname"')
        else:
            q = (f'SELECT mean("{FIELDS[k % 10]}") FROM "cpu" WHERE "hostname" = \'host_{k % SHARED_HOSTS}\' '
                 f'AND time > :dashboardTime: AND time < :upperDashboardTime: GROUP BY time(:interval:)')
        cells.append({"name": f"{FIELDS[k % 10]} {k}", "type": "line", "x": x, "y": y, "w": 4, "h": 4,
                      "queries": [{"db": "bench", "query": q}],
                      "axes": {"y": {"label": "CPU", "suffix": "%", "bounds": ["", ""], "scale": "linear"}}})
    d = json.loads(post(dash + "/chronograf/v1/dashboards", json.dumps({"name": "bench 12", "cells": cells}).encode(),
                        "application/json"))
    lower, upper = SHARED_START_MS, SHARED_START_MS + SHARED_DAYS * 86_400_000
    path = f"/sources/1/dashboards/{d['id']}?lower={lower}&upper={upper}"
    interval = interval_for(upper - lower, CHART_PX)

    def page_and_data():
        with urllib.request.urlopen(dash + path, timeout=60) as r:
            page = r.read().decode()
        n = 0
        for db, q in page_queries(page):
            post(dash + "/chronograf/v1/sources/1/series",
                 json.dumps({"db": db, "rp": "", "query": q.replace(":interval:", interval)}).encode(), "application/json")
            n += 1
        assert n == 12, n
    p50, p95 = timed(page_and_data, 15)
    print(f"{'12-cell dashboard over 7 days: page + data':44}{p50:8.1f}{p95:8.1f}  p50 <= 100  (:interval: {interval})")

    # The assets a page loads, as a browser gets them (gzip).
    with urllib.request.urlopen(dash + path, timeout=60) as r:
        page = r.read().decode()
    total = 0
    for asset in sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+\.(?:js|css))"', page))):
        req = urllib.request.Request(dash + asset, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=60) as r:
            total += len(r.read())
    print(f"embedded CSS + JS of the dashboard page, gzipped as served: {total / 1000:.0f} KB (target <= 600 KB)")
    browser_draws(dash + path, 12, "12-cell dashboard, 7 days")


def browser_draws(url, charts, what):
    """dygraphs' drawing time per chart, three page loads."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("browser: selenium not installed (pip install selenium); skipped")
        return
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"]:
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        draws, points = [], []
        for _ in range(3):
            driver.get(url)
            deadline = time.time() + 60
            while time.time() < deadline:
                times = driver.execute_script("return window.tickDrawMs || []")
                if len(times) >= charts:
                    draws.extend(times[:charts])
                    points.extend(driver.execute_script("return window.tickDrawPoints || []"))
                    break
                time.sleep(0.2)
        draws.sort()
        print(f"browser, {what}: draw per chart ({max(points or [0]):,} points at most): "
              f"p50 {statistics.median(draws):.1f} ms, max {draws[-1]:.1f} ms (target <= 50 ms)")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
