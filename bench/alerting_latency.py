"""Write-to-e-mail latency through influx-rs and kapacitor-rs.

Writes RATE points/s to the store (batches every 10 ms); every 100 ms one point of a new
group crosses the threshold, so kapacitor-rs sends one e-mail whose subject carries the
point's sequence number. An aiosmtpd server in this process notes when each message arrives.
Prints p50/p99/max of (SMTP accept time - store 204 time).

Usage: alerting_latency.py STORE_PORT SMTP_PORT RATE SECONDS
"""
import http.client
import statistics
import sys
import threading
import time

from aiosmtpd.controller import Controller

received = {}
lock = threading.Lock()


class Sink:
    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        text = envelope.content.decode("utf8", errors="replace")
        for line in text.splitlines():
            if line.startswith("Subject: "):
                seq = line.rsplit(" ", 1)[-1]
                with lock:
                    received[seq] = now
        return "250 OK"


def main():
    store_port, smtp_port, rate, seconds = map(int, sys.argv[1:5])
    controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    conn = http.client.HTTPConnection("127.0.0.1", store_port)
    per_batch = max(rate // 100, 1)
    sent = {}
    seq = 0
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        lines = [f"m,k=bg{i % 50} v=1,seq={seq}i" for i in range(per_batch)]
        trigger = tick % 10 == 0
        if trigger:
            seq += 1
            lines[-1] = f"m,k=t{seq} v=200,seq={seq}i"
        conn.request("POST", "/write?db=bench", body="\n".join(lines))
        resp = conn.getresponse()
        resp.read()
        if resp.status != 204:
            raise SystemExit(f"write failed: {resp.status}")
        if trigger:
            sent[str(seq)] = time.monotonic()
        tick += 1
        next_at = start + tick * 0.01
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    time.sleep(2)
    controller.stop()
    with lock:
        latencies = sorted((received[s] - t) * 1000 for s, t in sent.items() if s in received)
    lost = len(sent) - len(latencies)
    achieved = tick * per_batch / (time.monotonic() - start - 2)
    if not latencies:
        raise SystemExit("no e-mail arrived")
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"rate                {achieved:,.0f} points/s written ({per_batch} per batch, every 10 ms)")
    print(f"e-mails             {len(latencies)} received of {len(sent)} alerts ({lost} missing)")
    print(f"write-to-e-mail     p50 {p(0.50):.1f} ms   p99 {p(0.99):.1f} ms   max {latencies[-1]:.1f} ms   (target p99 <= 50 ms)")
    print(f"                    mean {statistics.mean(latencies):.1f} ms")


if __name__ == "__main__":
    main()
