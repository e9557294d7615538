#!/usr/bin/env python3
"""Runs a command until this runner gets SIGTERM or SIGINT, then writes the command's CPU
seconds and peak RSS to OUT as `cpu_s peak_kib`.

CPU is user + system of every thread (those that ended too) at microsecond precision, from
wait4: the agent benchmark read /proc/PID/stat, whose 10 ms clock ticks are a third of a
millisecond per cycle over 30 gather cycles — more than the gap it compares. Peak RSS is the
command's VmHWM, read when the signal comes (wait4's ru_maxrss would carry the forked
Python's own high-water mark across the exec).

Usage: bench/rusage.py OUT COMMAND [ARG...]
"""
import os
import signal
import subprocess
import sys

out, command = sys.argv[1], sys.argv[2:]
child = subprocess.Popen(command)
peak_kib = 0


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stop(sig, _frame):
    global peak_kib
    peak_kib = vm_hwm_kib(child.pid)
    child.send_signal(sig)


for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, stop)
while True:
    try:
        _, _, usage = os.wait4(child.pid, 0)
        break
    except InterruptedError:
        continue
with open(out, "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime:.6f} {peak_kib}\n")
