#!/usr/bin/env python3
"""A measurement of FIELDS fields (one point), on two servers side by side: the time of the
write and of the queries that once took time quadratic in the number of fields.

  wide.py FIELDS NAME=URL [NAME=URL ...]

Prints one line per step with each server's seconds and the ratio of the first to the others.
Run by bench/wide.sh. Stdlib only.
"""
import sys
import time
import urllib.parse
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=3600) as r:
        return r.read()


def timed(f):
    start = time.monotonic()
    out = f()
    return time.monotonic() - start, out


def main():
    fields = int(sys.argv[1])
    servers = [a.split("=", 1) for a in sys.argv[2:]]
    line = ("m " + ",".join(f"f{i}={i}" for i in range(fields)) + " 1000000000\n").encode()
    steps = [
        ("write", lambda url: post(url + "/write?db=wide", line)),
        ("SHOW FIELD KEYS", lambda url: query(url, "SHOW FIELD KEYS FROM m")),
        ("SELECT * LIMIT 1", lambda url: query(url, "SELECT * FROM m LIMIT 1")),
        ("SELECT mean(*)", lambda url: query(url, "SELECT mean(*) FROM m")),
        ("SELECT f7 (another query)", lambda url: query(url, "SELECT f7 FROM m")),
    ]
    for _, url in servers:
        query(url, "CREATE DATABASE wide")
    names = [n for n, _ in servers]
    print(f"{fields} fields, one point: seconds per step ({' / '.join(names)})")
    for label, step in steps:
        times = []
        for _, url in servers:
            seconds, answer = timed(lambda: step(url))
            if b'"error"' in answer:
                sys.exit(f"{label}: {answer[:200]!r}")
            times.append(seconds)
        ratios = "  ".join(f"{names[0]}/{n} = {times[0] / max(t, 1e-9):.1f}x" for n, t in zip(names[1:], times[1:]))
        print(f"  {label:26} " + "  ".join(f"{n} {t:8.3f}" for n, t in zip(names, times)) + f"   {ratios}")


def query(url, q):
    body = urllib.parse.urlencode({"q": q, "db": "wide"}).encode()
    return post(url + "/query", body)


if __name__ == "__main__":
    main()
