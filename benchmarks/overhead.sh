#!/usr/bin/env bash
# Side-by-side scheduler-tracing overhead, as described in shared/PERF-NOTES.md ("A fair comparison").
#
# perf's pipe benchmark (about 2 sched_switch and 1.15 wake-ups per op) runs pinned to CPU 1. Two
# variants: the tracers pinned to CPU 0 (neither steals the other's CPU: the programs' cost alone),
# then pinned to CPU 1 with the benchmark (the consumer's cost counts too). Each round measures
#   baseline, runqlat, baseline, engine
# so every traced run comes right after its own untraced baseline, and drift between rounds
# cancels out in the ratios. Results per variant: medians in us/op, traced/untraced ratios, and
# (engine - 1) / (runqlat - 1): how many times runqlat's overhead the engine costs.
#
# Environment: LOOPS (pipe operations per run, default 200000), ROUNDS (default 5),
#              TRACER_CPUS (the variants' tracer CPUs, default "0 1"),
#              AIOPS_TRACE (engine binary, default artifacts/bin/aiops-trace),
#              AIOPS_TRACE_BEFORE (optional second engine binary, e.g. the one before a change: each
#              round then also measures baseline, before; reported beside the engine, same run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOOPS="${LOOPS:-200000}"
ROUNDS="${ROUNDS:-5}"
ENGINE="${AIOPS_TRACE:-artifacts/bin/aiops-trace}"
BEFORE="${AIOPS_TRACE_BEFORE:-}"
OUT_DIR="artifacts/bench"
TRACER_CPUS="${TRACER_CPUS:-0 1}"
LOG_DIR="${OUT_DIR}/overhead-logs"
BENCH_CPU=1
BPF_STATS=/proc/sys/kernel/bpf_stats_enabled

die() { echo "overhead.sh: $*" >&2; exit 2; }

command -v perf >/dev/null 2>&1 || die "perf is missing (Debian package linux-perf; ./build.sh installs it)"
RUNQLAT="$(command -v runqlat || true)"
[[ -n "${RUNQLAT}" ]] || RUNQLAT=/usr/sbin/runqlat
[[ -x "${RUNQLAT}" ]] || die "runqlat is missing (Debian package libbpf-tools; ./build.sh installs it)"
[[ -x "${ENGINE}" ]] || die "${ENGINE} is missing: run ./build.sh --target=Publish first"
[[ -z "${BEFORE}" || -x "${BEFORE}" ]] || die "AIOPS_TRACE_BEFORE=${BEFORE} is not executable"
command -v taskset >/dev/null 2>&1 || die "taskset is missing (Debian package util-linux)"
command -v python3 >/dev/null 2>&1 || die "python3 is missing"
[[ ${EUID} -eq 0 ]] || die "attaching BPF programs needs root"
(( $(nproc) >= 2 )) || die "needs at least 2 CPUs (benchmark on CPU ${BENCH_CPU})"

mkdir -p "${OUT_DIR}" "${LOG_DIR}"

# The kernel tests take this lock (KernelTestBase): their programs would trace the benchmark too.
exec 9> /run/aiops-trace-kernel-tests.lock
flock -w 900 9 || die "the kernel tests held /run/aiops-trace-kernel-tests.lock for 15 minutes"

# BPF program statistics add up to 20% to every program run: measure with them off, then put
# the setting back as it was.
tracer_pid=""
saved_bpf_stats=""
if [[ -r "${BPF_STATS}" ]]; then
    saved_bpf_stats="$(cat "${BPF_STATS}")"
    [[ "${saved_bpf_stats}" == 0 ]] || echo 0 > "${BPF_STATS}"
fi

cleanup() {
    if [[ -n "${tracer_pid}" ]] && kill -0 "${tracer_pid}" 2>/dev/null; then
        kill -INT "${tracer_pid}" 2>/dev/null || true
        sleep 1
        kill -KILL "${tracer_pid}" 2>/dev/null || true
        wait "${tracer_pid}" 2>/dev/null || true
    fi
    if [[ -n "${saved_bpf_stats}" && "$(cat "${BPF_STATS}")" != "${saved_bpf_stats}" ]]; then
        echo "${saved_bpf_stats}" > "${BPF_STATS}" || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One pinned pipe benchmark; prints its us/op.
run_bench() {
    local output usecs
    output="$(taskset -c "${BENCH_CPU}" perf bench sched pipe -l "${LOOPS}")" \
        || die "perf bench sched pipe failed"
    usecs="$(awk '$2 == "usecs/op" { print $1 }' <<< "${output}")"
    [[ -n "${usecs}" ]] || die "no usecs/op in perf's output: ${output}"
    echo "${usecs}"
}

# Starts a tracer on the tracer CPU and waits until it holds a BPF link (its programs are attached:
# on a loaded machine a fixed sleep may end before, and the traced run would be partly untraced),
# then lets it settle; fails if it died meanwhile.
# A background job of a non-interactive shell starts with SIGINT ignored, and .NET keeps an
# inherited SIG_IGN, so the tracer would never see the SIGINT that ends its window: reset it.
start_tracer() {
    local name="$1" settle="$2"
    shift 2
    taskset -c "${TRACER_CPU}" env --default-signal=INT "$@" > /dev/null 2>> "${LOG_DIR}/${name}.log" 9>&- &
    tracer_pid=$!
    for _ in $(seq 600); do
        ls -l "/proc/${tracer_pid}/fd" 2>/dev/null | grep -q 'bpf_link' && break
        kill -0 "${tracer_pid}" 2>/dev/null || break
        sleep 0.1
    done
    sleep "${settle}"
    if ! ls -l "/proc/${tracer_pid}/fd" 2>/dev/null | grep -q 'bpf_link'; then
        echo "overhead.sh: ${name} attached nothing" >&2
        kill -KILL "${tracer_pid}" 2>/dev/null || true
    fi
    if ! kill -0 "${tracer_pid}" 2>/dev/null; then
        wait "${tracer_pid}" 2>/dev/null || true
        tracer_pid=""
        tail -n 20 "${LOG_DIR}/${name}.log" >&2 || true
        die "${name} exited before the benchmark started (log: ${LOG_DIR}/${name}.log)"
    fi
}

# SIGINT ends both tracers' windows early; SIGKILL only if one ignores it for 10 s.
stop_tracer() {
    local name="$1" status=0
    kill -INT "${tracer_pid}" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "${tracer_pid}" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "${tracer_pid}" 2>/dev/null; then
        echo "overhead.sh: warning: ${name} ignored SIGINT for 10 s; killing it" >&2
        kill -KILL "${tracer_pid}" 2>/dev/null || true
    fi
    wait "${tracer_pid}" 2>/dev/null || status=$?
    tracer_pid=""
    (( status == 0 )) || echo "overhead.sh: warning: ${name} exited with status ${status} (log: ${LOG_DIR}/${name}.log)" >&2
}

: > "${LOG_DIR}/runqlat.log"
: > "${LOG_DIR}/engine.log"
: > "${LOG_DIR}/before.log"
for TRACER_CPU in ${TRACER_CPUS}; do
base_runqlat=() runqlat=() base_engine=() engine=() base_before=() before=()
OUT_JSON="${OUT_DIR}/overhead-tracer-cpu${TRACER_CPU}.json"

echo
echo "overhead: perf bench sched pipe -l ${LOOPS} on CPU ${BENCH_CPU}, tracers on CPU ${TRACER_CPU}, ${ROUNDS} rounds"
for round in $(seq "${ROUNDS}"); do
    base_runqlat+=("$(run_bench)")

    start_tracer runqlat 1 "${RUNQLAT}" 60 1
    runqlat+=("$(run_bench)")
    stop_tracer runqlat

    base_engine+=("$(run_bench)")

    start_tracer engine 1 "${ENGINE}" snapshot --duration 600s --json
    engine+=("$(run_bench)")
    stop_tracer engine

    if [[ -n "${BEFORE}" ]]; then
        base_before+=("$(run_bench)")
        start_tracer before 1 "${BEFORE}" snapshot --duration 600s --json
        before+=("$(run_bench)")
        stop_tracer before
    fi

    printf 'round %d/%d: baseline %s, runqlat %s, baseline %s, engine %s us/op%s\n' "${round}" "${ROUNDS}" \
        "${base_runqlat[-1]}" "${runqlat[-1]}" "${base_engine[-1]}" "${engine[-1]}" \
        "${BEFORE:+, baseline ${base_before[-1]}, before ${before[-1]}}"
done

python3 - "${OUT_JSON}" "${LOOPS}" "${ROUNDS}" "$(uname -r)" "${TRACER_CPU}" \
    "${base_runqlat[*]}" "${runqlat[*]}" "${base_engine[*]}" "${engine[*]}" "${base_before[*]}" "${before[*]}" <<'PY'
import json, statistics, sys

out, loops, rounds, kernel, tracer_cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
samples = {name: [float(v) for v in values.split()]
           for name, values in zip(("baseline_runqlat", "runqlat", "baseline_engine", "engine", "baseline_before", "before"), sys.argv[6:12])
           if values.strip()}
median = {name: statistics.median(values) for name, values in samples.items()}
median["baseline"] = statistics.median(samples["baseline_runqlat"] + samples["baseline_engine"] + samples.get("baseline_before", []))

# Each traced condition against the median of the baselines run right before it.
ratio_runqlat = median["runqlat"] / median["baseline_runqlat"]
ratio_engine = median["engine"] / median["baseline_engine"]
overhead_ratio = (ratio_engine - 1) / (ratio_runqlat - 1) if ratio_runqlat > 1 else None
ratio_before = median["before"] / median["baseline_before"] if "before" in samples else None
overhead_before = (ratio_before - 1) / (ratio_runqlat - 1) if ratio_before is not None and ratio_runqlat > 1 else None

print("condition          median us/op")
for name in ("baseline", "baseline_runqlat", "runqlat", "baseline_engine", "engine", "baseline_before", "before"):
    if name in median:
        print(f"{name:<18} {median[name]:.3f}")
print(f"runqlat traced/untraced: {ratio_runqlat:.2f}")
print(f"engine traced/untraced:  {ratio_engine:.2f}")
if overhead_ratio is None:
    print("overhead ratio (engine-1)/(runqlat-1): n/a (runqlat showed no overhead)")
else:
    print(f"overhead ratio (engine-1)/(runqlat-1): {overhead_ratio:.2f}")
if ratio_before is not None:
    print(f"before traced/untraced:  {ratio_before:.2f}")
    if overhead_before is not None:
        print(f"overhead ratio (before-1)/(runqlat-1): {overhead_before:.2f}")

with open(out, "w") as f:
    json.dump({
        "benchmark": f"perf bench sched pipe -l {loops}",
        "loops": loops,
        "rounds": rounds,
        "kernel": kernel,
        "tracer_cpu": tracer_cpu,
        "samples_us_per_op": samples,
        "median_us_per_op": {k: round(v, 3) for k, v in median.items()},
        "ratio_runqlat": round(ratio_runqlat, 2),
        "ratio_engine": round(ratio_engine, 2),
        "overhead_ratio": None if overhead_ratio is None else round(overhead_ratio, 2),
        **({} if ratio_before is None else {
            "ratio_before": round(ratio_before, 2),
            "overhead_ratio_before": None if overhead_before is None else round(overhead_before, 2),
        }),
    }, f, indent=2)
    f.write("\n")
print(f"wrote {out}")
PY
done
