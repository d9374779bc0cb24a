#!/usr/bin/env python3
"""Where a window's CPU goes, by stage: reads `perf script` output of a `serve` profile (the
NativeAOT binary, symbols from aiops-trace.dbg) and counts each sample under the first stage
its stack holds, and apart the part of it in the runtime's collector (WKS:: frames).

    perf record -F 1999 -g -p <serve pid> -o serve.data -- sleep 20
    perf script -i serve.data -F comm,tid,ip,sym > serve.txt
    python3 benchmarks/scale/stages.py serve.txt 1999 20 [other.txt]

Prints ms of CPU per window (1 s windows) per stage, and with a second profile (e.g. another
N) the ratio of the two, with and without the collector. `scale.py` with PERF_N=N records
such a profile at 499 Hz for 10 s.
"""
import collections
import sys

# First match wins: a stage's samples are those not already counted under one listed above it.
STAGES = [
    ("apply (after the cut's clock)", "SidecarState__Apply"),
    ("read-ahead (off the cut)", "TraceSession__ReadAhead"),
    ("diagnosis", "WindowDiagnosis__Diagnose"),
    ("analysis inputs", "WindowInputs__Build"),
    ("analysis round", "EngineService__Analyze"),
    ("cgroup counters", "CgroupSampler__ReadAll"),
    ("rest of the engine's cut", "TraceSession__Cut"),
    ("frame, metrics, meter", "EngineService__Cut"),
]


def stacks(path):
    frames = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("\t", " ")):
                parts = line.split(None, 1)
                frames.append(parts[1].strip() if len(parts) > 1 else "?")
            elif frames:
                yield frames
                frames = []
    if frames:
        yield frames


def profile(path):
    total, collector = collections.Counter(), collections.Counter()
    for frames in stacks(path):
        joined = " ".join(frames)
        stage = next((name for name, key in STAGES if key in joined), None)
        if stage is None:
            continue
        total[stage] += 1
        if any(fr.startswith("WKS::") for fr in frames):
            collector[stage] += 1
    return total, collector


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    hz, seconds = float(sys.argv[2]), float(sys.argv[3])
    ms = lambda n: 1000 * n / hz / seconds  # noqa: E731
    profiles = [profile(p) for p in [sys.argv[1]] + sys.argv[4:]]
    head = "| stage | ms/window | of it collector |"
    if len(profiles) == 2:
        head += " other ms/window | of it collector | ratio | ratio without collector |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, _ in STAGES:
        (t, c) = profiles[0]
        row = f"| {name} | {ms(t[name]):.1f} | {ms(c[name]):.1f} |"
        if len(profiles) == 2:
            (t2, c2) = profiles[1]
            a, b = ms(t[name]), ms(t2[name])
            a0, b0 = a - ms(c[name]), b - ms(c2[name])
            row += f" {b:.1f} | {ms(c2[name]):.1f} | {b / a if a else float('nan'):.1f} | {b0 / a0 if a0 else float('nan'):.1f} |"
        print(row)


if __name__ == "__main__":
    main()
