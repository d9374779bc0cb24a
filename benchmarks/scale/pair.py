#!/usr/bin/env python3
"""Two sidecar binaries side by side over the same N cgroups, at the same time: a paired comparison.

Single runs of one binary spread by 15-25% on a shared 2-CPU machine (neighbours, builds), so
comparing two binaries run one after the other needs many runs. Here both `serve` processes run
over the same tenants for the same DURATION, so whatever else the machine does falls on both, and
the ratio B/A of their CPU per window and window cut is what differs between the binaries. Each
engine also sees the other as a process of the host: the same for both.

Environment: AIOPS_TRACE_A, AIOPS_TRACE_B (the two binaries), SCALE_N (default "1000,5000"),
DURATION (s, default 30), WARMUP (windows left out, default 3), ROUNDS (default 1: each round
makes the tenants afresh). Prints a Markdown table of A, B and B/A per N and round.
"""
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402
from scale import Stream, Tenants, proc_cpu_s, proc_status_kb, quantile, scrape  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sidecar import free_port, start_serve  # noqa: E402


def measure(engines, duration, warmup):
    running = []
    try:
        for name, binary in engines:
            port = free_port()
            db = os.path.join(scale.OUT_DIR, f"pair-{name}-{os.getpid()}.db")
            serve = start_serve(binary, port, db, ready_within_s=300)
            stream = Stream(port)
            stream.start()
            running.append({"name": name, "serve": serve, "port": port, "db": db, "stream": stream})
        deadline = time.monotonic() + 300
        while any(len(r["stream"].frames) < warmup for r in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        for r in running:
            r["gc0"], r["frames0"] = scrape(r["port"])[4], len(r["stream"].frames)
        start = {r["name"]: proc_cpu_s(r["serve"].pid) for r in running}
        t0 = time.monotonic()
        rss = {r["name"]: [] for r in running}
        while time.monotonic() - t0 < duration:
            for r in running:
                rss[r["name"]].append(proc_status_kb(r["serve"].pid, "VmRSS"))
            time.sleep(1)
        elapsed = time.monotonic() - t0
        out = {}
        for r in running:
            cpu = proc_cpu_s(r["serve"].pid) - start[r["name"]]
            frames = r["stream"].frames[r["frames0"]:]
            gc1 = scrape(r["port"])[4]
            cuts = [f["cut_s"] for f in frames if "cut_s" in f]
            n = max(1, len(frames))
            out[r["name"]] = {
                "cpu_ms_per_window": 1000 * cpu / n, "cpu_percent": 100 * cpu / elapsed,
                "cut_p50_ms": 1000 * quantile(cuts, 0.5), "cut_p99_ms": 1000 * quantile(cuts, 0.99),
                "rss_mb": statistics.median(rss[r["name"]]) / 1024, "windows": len(frames),
                "gc": "/".join(f"{(gc1.get(g, 0) - r['gc0'].get(g, 0)) / n:.2f}" for g in "012"),
            }
        return out
    finally:
        for r in running:
            r["stream"].stop = True
            r["serve"].send_signal(signal.SIGTERM)
        for r in running:
            try:
                r["serve"].wait(timeout=30)
            except Exception:  # noqa: BLE001 - a sidecar that does not stop is killed
                r["serve"].kill()
                r["serve"].wait()
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(r["db"] + suffix):
                    os.remove(r["db"] + suffix)


def main():
    a, b = os.environ.get("AIOPS_TRACE_A"), os.environ.get("AIOPS_TRACE_B")
    if not a or not b:
        scale.die("set AIOPS_TRACE_A and AIOPS_TRACE_B to the two binaries to compare")
    for binary in (a, b):
        if not os.access(binary, os.X_OK):
            scale.die(f"{binary} is not an executable")
    if os.geteuid() != 0:
        scale.die("creating cgroups and attaching BPF programs needs root")
    os.makedirs(scale.OUT_DIR, exist_ok=True)
    scale.build_waker()
    sizes = [int(x) for x in os.environ.get("SCALE_N", "1000,5000").split(",")]
    duration, warmup = int(os.environ.get("DURATION", "30")), int(os.environ.get("WARMUP", "3"))
    rounds = int(os.environ.get("ROUNDS", "1"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"A = {a}\nB = {b}\n")
    print("| N | round | CPU ms/window A / B (B/A) | cut p50 ms A / B (B/A) | cut p99 ms A / B | RSS MB A / B | GCs per window (gen 0/1/2) A; B |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for k in range(rounds):
            tenants = None
            try:
                tenants = Tenants(n)
                # Alternate which binary starts first, so start order cannot favour one.
                order = [("A", a), ("B", b)] if k % 2 == 0 else [("B", b), ("A", a)]
                m = measure(order, duration, warmup)
            finally:
                if tenants is not None:
                    tenants.close()
            ma, mb = m["A"], m["B"]
            print(f"| {n:,} | {k + 1} | {ma['cpu_ms_per_window']:.1f} / {mb['cpu_ms_per_window']:.1f} "
                  f"({mb['cpu_ms_per_window'] / ma['cpu_ms_per_window']:.2f}) "
                  f"| {ma['cut_p50_ms']:.1f} / {mb['cut_p50_ms']:.1f} ({mb['cut_p50_ms'] / ma['cut_p50_ms']:.2f}) "
                  f"| {ma['cut_p99_ms']:.1f} / {mb['cut_p99_ms']:.1f} | {ma['rss_mb']:.0f} / {mb['rss_mb']:.0f} | {ma['gc']}; {mb['gc']} |",
                  flush=True)


if __name__ == "__main__":
    main()
