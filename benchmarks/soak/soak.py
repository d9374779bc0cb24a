#!/usr/bin/env python3
"""Soak: `serve` for a long run under load and cgroup churn; nothing it holds may grow without bound.

Runs `aiops-trace serve --interval 1s` while
  - `perf bench sched pipe` runs back to back (a steady flood of wake-ups and switches), and
  - cgroups churn: one is created every CHURN_S seconds (the same relative path in each v1
    hierarchy and the unified one), a short CPU burst runs in it, and it is removed a few seconds
    later, so about ten live at any time and hundreds come and go;
and samples, every SAMPLE_S seconds: the sidecar's RSS, open file descriptors, the entries of its
BPF hash maps (bpftool), the containers it tracks, its garbage collections and managed heap
(/metrics), and the kernel drops it counted.

Growth verdict: after the first sample (warm-up), the last third of the samples is compared with
the first third. RSS may not grow by more than 10% and 8 MB, open fds by more than 8, map entries
beyond twice the first third's highest plus 256 (stamps of live tasks come and go), tracked
containers beyond the first third's highest plus 20. Exit 1 when any grows, 2 on a setup error.

Environment: DURATION_MIN (default 30), SAMPLE_S (default 60), CHURN_S (default 0.5),
AIOPS_TRACE (default artifacts/bin/aiops-trace).
Results: a Markdown table and the verdict on stdout, artifacts/bench/soak.json.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sidecar import free_port, start_serve  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.environ.get("AIOPS_TRACE", os.path.join(REPO, "artifacts/bin/aiops-trace"))
OUT_DIR = os.path.join(REPO, "artifacts/bench")
HIERARCHIES = [h for h in ("cpu", "cpuacct", "memory", "blkio", "pids", "unified") if os.path.isdir(f"/sys/fs/cgroup/{h}")]


def die(msg):
    print(f"soak.py: {msg}", file=sys.stderr)
    sys.exit(2)


def env_float(name, default):
    text = os.environ.get(name, str(default))
    try:
        value = float(text)
    except ValueError:
        die(f"{name}={text!r} is not a number")
    if value <= 0:
        die(f"{name}={text!r} is out of range: expected a positive number")
    return value


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in ("aiops_trace_containers", "aiops_trace_managed_heap_bytes", "aiops_trace_gc_collections_total",
                    "aiops_trace_lost_events_total", "aiops_trace_dropped_events_total", "aiops_trace_windows_total"):
            values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return values


def map_entries(pid):
    """Entries of each hash map the sidecar holds open (map ids from its fds' fdinfo), by map name."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("map_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass  # an fd closed meanwhile
    entries = {}
    for map_id in sorted(ids):
        show = subprocess.run(["bpftool", "map", "show", "id", str(map_id), "-j"], capture_output=True, text=True)
        if show.returncode != 0:
            continue
        m = json.loads(show.stdout)
        if "hash" not in m.get("type", ""):
            continue
        dump = subprocess.run(["bpftool", "map", "dump", "id", str(map_id), "-j"], capture_output=True, text=True)
        if dump.returncode == 0:
            entries[m.get("name", str(map_id))] = len(json.loads(dump.stdout or "[]"))
    return entries


class Churn(threading.Thread):
    """Creates a cgroup every `every` seconds with a short burst in it, removes each a few seconds later."""

    def __init__(self, every):
        super().__init__(daemon=True)
        self.every = every
        self.stop = False
        self.created = 0
        self.live = []  # (dirs, process, remove_at)
        self.root = f"/aiops-soak-{os.getpid()}"
        for h in HIERARCHIES:
            os.makedirs(f"/sys/fs/cgroup/{h}{self.root}", exist_ok=True)

    def run(self):
        while not self.stop:
            now = time.monotonic()
            self._reap(now)
            rel = f"{self.root}/c{self.created}"
            self.created += 1
            dirs = []
            for h in HIERARCHIES:
                d = f"/sys/fs/cgroup/{h}{rel}"
                os.mkdir(d)
                dirs.append(d)
            p = subprocess.Popen(["sh", "-c", "read _ ; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exec sleep 10"],
                                 stdin=subprocess.PIPE)
            for d in dirs:
                with open(f"{d}/cgroup.procs", "w") as f:
                    f.write(str(p.pid))
            p.stdin.write(b"go\n")
            p.stdin.close()
            self.live.append((dirs, p, now + 3 + (self.created % 5)))
            time.sleep(self.every)

    def _reap(self, now, everything=False):
        keep = []
        for dirs, p, at in self.live:
            if not everything and at > now:
                keep.append((dirs, p, at))
                continue
            p.kill()
            p.wait()
            for d in reversed(dirs):
                for _ in range(50):
                    try:
                        os.rmdir(d)
                        break
                    except OSError:
                        time.sleep(0.02)
        self.live = keep

    def close(self):
        self.stop = True
        self.join(timeout=10)
        self._reap(time.monotonic(), everything=True)
        for h in HIERARCHIES:
            try:
                os.rmdir(f"/sys/fs/cgroup/{h}{self.root}")
            except OSError:
                pass


class Pipe(threading.Thread):
    """perf bench sched pipe, back to back, until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = False
        self.proc = None

    def run(self):
        while not self.stop:
            self.proc = subprocess.Popen(["perf", "bench", "sched", "pipe", "-l", "2000000"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.proc.wait()

    def close(self):
        self.stop = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.join(timeout=10)


def grows(samples, key, rule):
    if len(samples) < 4:
        return None
    third = max(1, len(samples) // 3)
    first = [s[key] for s in samples[:third]]
    last = [s[key] for s in samples[-third:]]
    return rule(first, last)


def main():
    if os.geteuid() != 0:
        die("needs root: it creates cgroups and runs the sidecar with BPF")
    if not os.access(ENGINE, os.X_OK):
        die(f"{ENGINE} is not an executable: run ./build.sh --target=Publish first")
    duration = env_float("DURATION_MIN", 30) * 60
    sample_s = env_float("SAMPLE_S", 60)
    churn_s = env_float("CHURN_S", 0.5)
    os.makedirs(OUT_DIR, exist_ok=True)
    port = free_port()
    db = os.path.join(OUT_DIR, f"soak-verdicts-{os.getpid()}.db")
    try:
        serve = start_serve(ENGINE, port, db, ready_within_s=120)
    except RuntimeError as e:
        die(str(e))
    churn = pipe = None
    samples = []
    try:
        churn, pipe = Churn(churn_s), Pipe()
        churn.start()
        pipe.start()
        start = time.monotonic()
        while True:
            time.sleep(sample_s)
            if serve.poll() is not None:
                die("serve exited during the soak: " + serve.stderr.read()[-500:])
            m = metrics(port)
            maps = map_entries(serve.pid)
            s = {
                "minute": round((time.monotonic() - start) / 60, 1),
                "rss_mb": round(status_kb(serve.pid, "VmRSS") / 1024, 1),
                "fds": len(os.listdir(f"/proc/{serve.pid}/fd")),
                "map_entries": sum(maps.values()),
                "maps": maps,
                "containers": m.get("aiops_trace_containers", -1),
                "heap_mb": round(m.get("aiops_trace_managed_heap_bytes", -1) / 2**20, 1),
                "gcs": m.get("aiops_trace_gc_collections_total", -1),
                "windows": m.get("aiops_trace_windows_total", -1),
                "lost": m.get("aiops_trace_lost_events_total", -1),
                "cgroups_churned": churn.created,
            }
            samples.append(s)
            print(f"soak.py: {json.dumps(s)}", file=sys.stderr, flush=True)
            if time.monotonic() - start >= duration:
                break
    finally:
        for t in (pipe, churn):
            if t is not None:
                t.close()
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    steady = samples[1:]  # the first sample is warm-up
    checks = {
        "rss": grows(steady, "rss_mb", lambda a, b: max(b) > max(a) * 1.10 and max(b) > max(a) + 8),
        "fds": grows(steady, "fds", lambda a, b: max(b) > max(a) + 8),
        "map_entries": grows(steady, "map_entries", lambda a, b: max(b) > 2 * max(a) + 256),
        "containers": grows(steady, "containers", lambda a, b: max(b) > max(a) + 20),
        "heap": grows(steady, "heap_mb", lambda a, b: max(b) > max(a) * 1.25 and max(b) > max(a) + 8),
    }
    print(f"Soak: `serve --interval 1s` for {duration / 60:.0f} min under `perf bench sched pipe` and "
          f"{churn.created if churn else 0} churned cgroups (one every {churn_s} s), sampled every {sample_s:.0f} s.\n")
    print("| minute | RSS (MB) | open fds | BPF map entries | containers | managed heap (MB) | GCs (all gens) | windows | lost events |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in samples:
        print(f"| {s['minute']} | {s['rss_mb']} | {s['fds']} | {s['map_entries']} | {s['containers']:.0f} | {s['heap_mb']} "
              f"| {s['gcs']:.0f} | {s['windows']:.0f} | {s['lost']:.0f} |")
    grew = [k for k, v in checks.items() if v]
    undecided = [k for k, v in checks.items() if v is None]
    print()
    if undecided:
        print(f"Too few samples to judge growth ({len(steady)} after warm-up; need 4): {', '.join(undecided)}.")
    print("Verdict: " + ("GROWS: " + ", ".join(grew) if grew else "flat" if not undecided else "undecided"))
    with open(os.path.join(OUT_DIR, "soak.json"), "w") as f:
        json.dump({"samples": samples, "grows": grew, "undecided": undecided,
                   "duration_min": duration / 60, "churn_s": churn_s}, f, indent=1)
    sys.exit(1 if grew or undecided else 0)


if __name__ == "__main__":
    main()
