#!/usr/bin/env bash
# Time spent inside the BPF programs per pipe operation: libbpf-tools runqlat and the engine, one
# after the other, each alone, with kernel.bpf_stats_enabled=1 for the runs only (statistics add up
# to 20% to every program run, so overhead.sh measures with them off; these figures are for
# attributing cost, not for the overhead ratio).
#
# Each tracer is pinned to CPU 0 and `perf bench sched pipe` to CPU 1; for every program the tracer
# holds, run_time_ns and run_cnt (bpftool prog show) are read before and after the benchmark.
# Prints ns per run and per pipe operation for each program, and the sum per tracer.
#
# Environment: LOOPS (default 200000), AIOPS_TRACE (engine binary, default artifacts/bin/aiops-trace),
#              AIOPS_TRACE_BEFORE (a second engine binary measured too, e.g. the one before a change),
#              ENGINE_ARGS (extra arguments of `snapshot`, e.g. "--attach raw_tp").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOOPS="${LOOPS:-200000}"
ENGINE="${AIOPS_TRACE:-artifacts/bin/aiops-trace}"
BEFORE="${AIOPS_TRACE_BEFORE:-}"
read -r -a ENGINE_ARGS <<< "${ENGINE_ARGS:-}"
BPF_STATS=/proc/sys/kernel/bpf_stats_enabled

die() { echo "program-time.sh: $*" >&2; exit 2; }

for tool in perf bpftool taskset python3; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is missing"
done
RUNQLAT="$(command -v runqlat || echo /usr/sbin/runqlat)"
[[ -x "${RUNQLAT}" ]] || die "runqlat is missing (Debian package libbpf-tools)"
[[ -x "${ENGINE}" ]] || die "${ENGINE} is missing: run ./build.sh --target=Publish first"
[[ -z "${BEFORE}" || -x "${BEFORE}" ]] || die "${BEFORE} is not executable"
[[ ${EUID} -eq 0 ]] || die "attaching BPF programs needs root"
[[ -w "${BPF_STATS}" ]] || die "${BPF_STATS} is not writable"

# The kernel tests and overhead.sh take this lock: their programs would run in the same tracepoints.
exec 9> /run/aiops-trace-kernel-tests.lock
flock -w 900 9 || die "/run/aiops-trace-kernel-tests.lock was held for 15 minutes"

saved_bpf_stats="$(cat "${BPF_STATS}")"
tracer_pid=""
cleanup() {
    if [[ -n "${tracer_pid}" ]] && kill -0 "${tracer_pid}" 2>/dev/null; then
        kill -KILL "${tracer_pid}" 2>/dev/null || true
        wait "${tracer_pid}" 2>/dev/null || true
    fi
    echo "${saved_bpf_stats}" > "${BPF_STATS}" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The ids of the BPF programs a process holds (its bpf-prog fds).
prog_ids() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        [[ "$(readlink "${fd}" 2>/dev/null)" == anon_inode:bpf-prog ]] || continue
        awk '$1 == "prog_id:" { print $2 }' "/proc/$1/fdinfo/${fd##*/}"
    done | sort -un
}

stats_of() {
    local id
    for id in "$@"; do bpftool -j prog show id "${id}"; echo; done
}

# measure NAME COMMAND...: one tracer alone, statistics on, one pinned benchmark.
measure() {
    local name="$1" ids before after usecs
    shift
    echo 1 > "${BPF_STATS}"
    taskset -c 0 env --default-signal=INT "$@" > /dev/null 2>&1 9>&- &
    tracer_pid=$!
    for _ in $(seq 600); do
        ls -l "/proc/${tracer_pid}/fd" 2>/dev/null | grep -q bpf_link && break
        kill -0 "${tracer_pid}" 2>/dev/null || die "${name} exited before attaching"
        sleep 0.1
    done
    sleep 1
    mapfile -t ids < <(prog_ids "${tracer_pid}")
    (( ${#ids[@]} > 0 )) || die "${name} holds no BPF program"
    before="$(stats_of "${ids[@]}")"
    usecs="$(taskset -c 1 perf bench sched pipe -l "${LOOPS}" | awk '$2 == "usecs/op" { print $1 }')"
    after="$(stats_of "${ids[@]}")"
    kill -INT "${tracer_pid}"
    wait "${tracer_pid}" 2>/dev/null || true
    tracer_pid=""
    echo "${saved_bpf_stats}" > "${BPF_STATS}"
    python3 - "${name}" "${LOOPS}" "${usecs}" "${before}" "${after}" <<'PY'
import json, sys
name, loops, usecs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parse = lambda text: {p["id"]: p for p in (json.loads(l) for l in text.splitlines() if l.strip())}
before, after = parse(sys.argv[4]), parse(sys.argv[5])
total = 0
for pid, p in sorted(after.items()):
    runs = p.get("run_cnt", 0) - before[pid].get("run_cnt", 0)
    ns = p.get("run_time_ns", 0) - before[pid].get("run_time_ns", 0)
    if runs == 0:
        continue
    total += ns
    print(f"  {name:<8} {p['name']:<22} runs/op {runs / loops:5.2f}  ns/run {ns / runs:6.0f}  ns/op {ns / loops:6.0f}")
print(f"{name}: {total / loops:.0f} ns of programs per pipe op ({usecs} us/op with statistics on)")
PY
}

echo "program time: perf bench sched pipe -l ${LOOPS} on CPU 1, tracers on CPU 0, kernel.bpf_stats_enabled=1"
measure runqlat "${RUNQLAT}" 60 1
[[ -z "${BEFORE}" ]] || measure before "${BEFORE}" snapshot --duration 600s --json "${ENGINE_ARGS[@]}"
measure engine "${ENGINE}" snapshot --duration 600s --json "${ENGINE_ARGS[@]}"
