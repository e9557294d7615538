#!/usr/bin/env python3
"""The high-cardinality dataset of issue #19: SERIES distinct series of `cpu` with one point
each — tags `host` (SERIES values), `region` (20), `rack` (100); fields `usage` and `idle` —
all within one hour, written as line protocol to OUT.

With --churn HOURS: ALIVE series at a time for HOURS hours, each hour's series new (as pods
replaced every hour), one point per series in its hour: HOURS x ALIVE series in all.

Usage: gen_cardinality.py SERIES OUT [--churn HOURS --alive N]
"""
import argparse

BASE = 1_700_000_000_000_000_000  # ns, an hour boundary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("series", type=int)
    ap.add_argument("out")
    ap.add_argument("--churn", type=int, default=0, help="hours of churn (0: none)")
    ap.add_argument("--alive", type=int, default=100_000, help="series alive per hour")
    a = ap.parse_args()
    with open(a.out, "w", buffering=1 << 20) as f:
        if a.churn:
            for hour in range(a.churn):
                t0 = BASE + hour * 3_600_000_000_000
                for i in range(a.alive):
                    n = hour * a.alive + i
                    f.write(f"cpu,host=pod-{n},region=r{n % 20},rack=k{n % 100} "
                            f"usage={n % 1000 / 10},idle={(n * 7) % 1000 / 10} {t0 + i * 1000}\n")
        else:
            for n in range(a.series):
                f.write(f"cpu,host=h{n},region=r{n % 20},rack=k{n % 100} "
                        f"usage={n % 1000 / 10},idle={(n * 7) % 1000 / 10} {BASE + n * 1000}\n")


if __name__ == "__main__":
    main()
