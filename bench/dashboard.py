#!/usr/bin/env python3
"""Loads 28 h of 10 s data for 100 hosts (10,080 points per series) into a store, then times chronograf-rs's host page and
an 8-cell dashboard on the server, and dygraphs' drawing in headless Chromium.

  dashboard.py STORE_URL CHRONOGRAF_URL

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


def post(url, body, content_type="text/plain"):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
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
    store, dash = sys.argv[1:3]
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
    browser(dash, d["id"])


def browser(dash, dashboard_id):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("browser: selenium not installed (pip install selenium); skipped")
        return
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1200"]:
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        # Each cell draws one host's 10,080 raw points; three page loads.
        draws = []
        for _ in range(3):
            driver.get(f"{dash}/sources/1/dashboards/{dashboard_id}?range=2d")
            deadline = time.time() + 60
            while time.time() < deadline:
                times = driver.execute_script("return window.tickDrawMs || []")
                if len(times) >= 8:
                    draws.extend(times[:8])
                    break
                time.sleep(0.2)
        points = driver.execute_script("return window.tickDrawPoints || []")
        draws.sort()
        print(f"browser: dygraphs draw per series ({max(points or [0]):,} points): "
              f"p50 {statistics.median(draws):.1f} ms, max {draws[-1]:.1f} ms (target <= 50 ms)")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
