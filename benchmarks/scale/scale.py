#!/usr/bin/env python3
"""Node scale: what `serve` and `snapshot` cost with N real cgroups of mostly idle tenants.

For each N it creates N cgroups (the same relative path in each v1 hierarchy and the unified one,
as container runtimes do), one `waker` process in each (wakes once a second, spins ~20k
iterations), then
  - runs `aiops-trace snapshot --duration 1s` under /usr/bin/time: CPU and peak RSS;
  - runs `aiops-trace serve --interval 1s` for DURATION seconds with one stream client that
    records each frame's cut time (`cut_s`), read-ahead time (`read_ahead_s`) and window length, samples the sidecar's CPU and RSS
    from /proc, and scrapes /metrics three times at the end (bytes, series, time);
and removes everything it created, also when it fails or is interrupted.

Environment: SCALE_N (default "100,1000,5000"), DURATION (s, default 30), WARMUP (windows left out
of the figures, default 3), AIOPS_TRACE (default artifacts/bin/aiops-trace), PERF_N (profile serve
with `perf record -g` for 10 s at this N, into artifacts/bench/scale-perf-N.data).
Results: a Markdown table on stdout and artifacts/bench/scale.json.
"""
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sidecar import free_port, start_serve  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.environ.get("AIOPS_TRACE", os.path.join(REPO, "artifacts/bin/aiops-trace"))
OUT_DIR = os.path.join(REPO, "artifacts/bench")
WAKER_SRC = os.path.join(REPO, "benchmarks/scale/waker.c")
WAKER = os.path.join(OUT_DIR, "scale-waker")
HIERARCHIES = [h for h in ("cpu", "cpuacct", "memory", "blkio", "pids", "unified") if os.path.isdir(f"/sys/fs/cgroup/{h}")]
TICKS = os.sysconf("SC_CLK_TCK")
BRANCH = os.environ.get("SCALE_TAG", "scale")


def die(msg):
    print(f"scale.py: {msg}", file=sys.stderr)
    sys.exit(2)


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def quantile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


class Tenants:
    """N cgroups with one waker each; close() kills the wakers and removes every directory."""

    def __init__(self, n):
        self.rel = f"/aiops-scale-{BRANCH}-{os.getpid()}"
        self.dirs = []
        self.procs = []
        for h in HIERARCHIES:
            self._mkdir(f"/sys/fs/cgroup/{h}{self.rel}")
        for i in range(n):
            for h in HIERARCHIES:
                self._mkdir(f"/sys/fs/cgroup/{h}{self.rel}/c{i}")
        # Each waker moves itself (in parallel: a v1 migration waits for RCU) and writes one byte when done.
        ready_r, ready_w = os.pipe()
        for i in range(n):
            self.procs.append(subprocess.Popen([WAKER] + [f"/sys/fs/cgroup/{h}{self.rel}/c{i}" for h in HIERARCHIES],
                                               stdout=ready_w, stdin=subprocess.DEVNULL))
        os.close(ready_w)
        got, deadline = 0, time.monotonic() + 120 + n / 20
        while got < n and time.monotonic() < deadline:
            chunk = os.read(ready_r, 65536)
            if not chunk:
                break
            got += len(chunk)
        os.close(ready_r)
        if got < n:
            raise RuntimeError(f"only {got} of {n} tenants moved into their cgroups")

    def _mkdir(self, path):
        os.mkdir(path)
        self.dirs.append(path)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # Children before parents; a v1 cgroup may stay busy a moment after its last task is reaped.
        for d in reversed(self.dirs):
            deadline = time.monotonic() + 10
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        print(f"scale.py: could not remove {d}", file=sys.stderr)
                        break
                    time.sleep(0.05)


def build_waker():
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-static", "-o", WAKER, WAKER_SRC], check=True)


def run_snapshot():
    out = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", ENGINE, "snapshot", "--duration", "1s", "--json"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("snapshot failed: " + out.stderr[-500:])
    wall, user, system, max_kb = out.stderr.strip().splitlines()[-1].split()
    return {"snapshot_cpu_s": round(float(user) + float(system), 3), "snapshot_wall_s": float(wall),
            "snapshot_peak_rss_mb": round(int(max_kb) / 1024, 1), "snapshot_containers": len(json.loads(out.stdout)["containers"])}


class Stream(threading.Thread):
    """Reads the sidecar's frames; keeps each frame's seq, window length, cut time and size."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.frames = []
        self.stop = False

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", "/api/v1/stream")
        resp = conn.getresponse()
        event = None
        while not self.stop:
            line = resp.fp.readline()
            if not line:
                return
            if line.startswith(b"event: "):
                event = line[7:].strip()
            elif line.startswith(b"data: ") and event == b"frame":
                head = line[:400].decode("ascii", "replace")
                m = {k: re.search(rf'"{k}":([0-9.eE+-]+)', head) for k in ("seq", "window_s", "cut_s", "read_ahead_s", "dropped_frames", "lost_events")}
                self.frames.append({k: float(v.group(1)) for k, v in m.items() if v} | {"bytes": len(line), "at": time.monotonic()})


def scrape(port):
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read()
    took = time.monotonic() - start
    text = body.decode()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    lost = sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("aiops_trace_lost_events_total"))
    return took, len(body), series, lost, gc_collections(text)


def gc_collections(text):
    """The sidecar's own collections so far, by generation ("0", "1", "2")."""
    counts = {}
    for line in text.splitlines():
        m = re.match(r'aiops_trace_gc_collections_total\{.*generation="(\d)".*\} (\S+)', line)
        if m:
            counts[m.group(1)] = float(m.group(2))
    return counts


def run_serve(duration, warmup, n):
    port = free_port()
    db = os.path.join(OUT_DIR, f"scale-verdicts-{os.getpid()}.db")
    serve = start_serve(ENGINE, port, db, ready_within_s=300)
    try:
        deadline = time.monotonic() + 300
        stream = Stream(port)
        stream.start()
        while len(stream.frames) < warmup and time.monotonic() < deadline:
            time.sleep(0.05)
        perf = None
        if os.environ.get("PERF_N") == str(n):
            # A profile of serve over 10 s of the run (symbols: aiops-trace.dbg beside the binary).
            perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(serve.pid), "-o",
                                     os.path.join(OUT_DIR, f"scale-perf-{n}.data"), "--", "sleep", "10"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gc0 = scrape(port)[4]
        cpu0, t0, frames0 = proc_cpu_s(serve.pid), time.monotonic(), len(stream.frames)
        rss = []
        while time.monotonic() - t0 < duration:
            rss.append(proc_status_kb(serve.pid, "VmRSS"))
            time.sleep(1)
        cpu1, t1, frames = proc_cpu_s(serve.pid), time.monotonic(), list(stream.frames[frames0:])
        if perf is not None:
            perf.wait()
        gc1 = scrape(port)[4]
        scrapes = [scrape(port) for _ in range(3)]
        peak = proc_status_kb(serve.pid, "VmHWM")
        stream.stop = True
        cuts = [f["cut_s"] for f in frames if "cut_s" in f]
        aheads = [f["read_ahead_s"] for f in frames if "read_ahead_s" in f]
        windows = [f["window_s"] for f in frames if "window_s" in f]
        return {
            "windows": len(frames),
            "window_s_p50": round(quantile(windows, 0.5), 3), "window_s_max": round(max(windows), 3) if windows else None,
            "cut_ms_p50": round(1000 * quantile(cuts, 0.5), 1), "cut_ms_p99": round(1000 * quantile(cuts, 0.99), 1),
            "cut_ms_max": round(1000 * max(cuts), 1) if cuts else None,
            # The spread: collections land in some cuts and not others, which moves the median.
            "cut_ms_min": round(1000 * min(cuts), 1) if cuts else None,
            "cut_ms_p25": round(1000 * quantile(cuts, 0.25), 1), "cut_ms_p75": round(1000 * quantile(cuts, 0.75), 1),
            "read_ahead_ms_p50": round(1000 * quantile(aheads, 0.5), 1), "read_ahead_ms_p99": round(1000 * quantile(aheads, 0.99), 1),
            "cpu_percent_of_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
            "cpu_ms_per_window": round(1000 * (cpu1 - cpu0) / max(1, len(frames)), 1),
            "rss_mb_median": round(statistics.median(rss) / 1024, 1), "rss_mb_peak": round(peak / 1024, 1),
            "frame_kb_median": round(statistics.median([f["bytes"] for f in frames]) / 1024, 1) if frames else None,
            "metrics_kb": round(scrapes[-1][1] / 1024, 1), "metrics_series": scrapes[-1][2],
            "scrape_ms": round(1000 * statistics.median([s[0] for s in scrapes]), 1),
            "lost_events": scrapes[-1][3],
            # Collections per window by generation while measured (the scrapes after it excluded).
            "gc_per_window": "/".join(f"{(gc1.get(g, 0) - gc0.get(g, 0)) / max(1, len(frames)):.2f}" for g in "012"), "dropped_frames": max((f.get("dropped_frames", 0) for f in frames), default=0),
        }
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)


def main():
    if os.geteuid() != 0:
        die("creating cgroups and attaching BPF programs needs root")
    if not os.access(ENGINE, os.X_OK):
        die(f"{ENGINE} is missing: run ./build.sh --target=Publish first")
    if not os.access("/usr/bin/time", os.X_OK):
        die("/usr/bin/time is missing (Debian package time)")
    os.makedirs(OUT_DIR, exist_ok=True)
    build_waker()
    sizes = [int(x) for x in os.environ.get("SCALE_N", "100,1000,5000").split(",")]
    duration, warmup = int(os.environ.get("DURATION", "30")), int(os.environ.get("WARMUP", "3"))
    # SIGTERM and SIGINT end the run through the finally blocks, which remove what was created.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for n in sizes:
        tenants = None
        try:
            started = time.monotonic()
            tenants = Tenants(n)
            row = {"n": n, "setup_s": round(time.monotonic() - started, 1)}
            print(f"scale.py: N={n}: {n} tenants ready in {row['setup_s']} s", file=sys.stderr)
            row |= run_snapshot()
            row |= run_serve(duration, warmup, n)
            results.append(row)
            print(f"scale.py: N={n}: {json.dumps(row)}", file=sys.stderr)
        finally:
            if tenants is not None:
                tenants.close()
    with open(os.path.join(OUT_DIR, "scale.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "duration_s": duration, "results": results}, f, indent=2)
    print("| N | cut p50 / p99 / max (ms) | read-ahead p50 / p99 (ms) | window p50 / max (s) | serve CPU (% of a core; ms per window) | RSS median / peak (MB) "
          "| /metrics (KB; series; scrape ms) | frame (KB) | lost | GCs per window (gen 0/1/2) | snapshot CPU (s) / peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} | {r['cut_ms_p50']} / {r['cut_ms_p99']} / {r['cut_ms_max']} | {r['read_ahead_ms_p50']} / {r['read_ahead_ms_p99']} | {r['window_s_p50']} / {r['window_s_max']} "
              f"| {r['cpu_percent_of_core']}; {r['cpu_ms_per_window']} | {r['rss_mb_median']} / {r['rss_mb_peak']} "
              f"| {r['metrics_kb']}; {r['metrics_series']:,}; {r['scrape_ms']} | {r['frame_kb_median']} | {r['lost_events']:.0f} "
              f"| {r['gc_per_window']} | {r['snapshot_cpu_s']} / {r['snapshot_peak_rss_mb']} |")


if __name__ == "__main__":
    main()
