#!/usr/bin/env python3
"""Deterministic variants of the shared TSBS cpu-only dataset (stdlib only).

  variants.py float     IN.lp OUT.lp   every integer field `58i` becomes a float with two
                                        decimals drawn around it (`58.37`): XOR-float blocks
  variants.py irregular IN.lp OUT.lp   every timestamp gets a jitter of 0-999 ms (seeded per
                                        line), so delta-of-delta is never zero

Both keep the line count, series and field names, so the same loader and queries apply.
"""
import random
import re
import sys

INT_FIELD = re.compile(rb"=(-?\d+)i")


def main():
    mode, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = random.Random(7)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for line in fin:
            if mode == "float":
                line = INT_FIELD.sub(
                    lambda m: b"=%.2f" % (int(m.group(1)) + rng.random()), line)
            elif mode == "irregular":
                head, _, ts = line.rstrip(b"\n").rpartition(b" ")
                line = b"%s %d\n" % (head, int(ts) + rng.randrange(1000) * 1_000_000)
            else:
                sys.exit(f"unknown variant {mode!r} (float, irregular)")
            fout.write(line)


if __name__ == "__main__":
    main()
