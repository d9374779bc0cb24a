#!/usr/bin/env bash
# AFL++ over the SharpFuzz harness: every target for FUZZ_SECONDS (default 60) each, from seeds
# read off this machine. Fails when any target saved a crash (an exception other than its
# parser's documented refusal) or a hang (over FUZZ_TIMEOUT_MS, default 2000).
# Environment: FUZZ_SECONDS, FUZZ_TIMEOUT_MS, FUZZ_TARGETS (default: all). Findings under artifacts/fuzz/findings/<target>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

die() { echo "fuzz.sh: $*" >&2; exit 2; }
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TIMEOUT_MS="${FUZZ_TIMEOUT_MS:-2000}"
[[ "${SECONDS_EACH}" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_SECONDS='${SECONDS_EACH}' is not a whole number of seconds above 0"
[[ "${TIMEOUT_MS}" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_TIMEOUT_MS='${TIMEOUT_MS}' is not a whole number of milliseconds above 0"

if ! command -v afl-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: installing afl++"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends afl++ >/dev/null \
        || { env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends afl++ >/dev/null; }
fi

OUT=artifacts/fuzz
rm -rf "${OUT}"
dotnet tool restore >/dev/null
dotnet publish tools/AIOps.Trace.Fuzz -c Release -o "${OUT}/bin" -p:TreatWarningsAsErrors=true >/dev/null
dotnet "${OUT}/bin/aiops-trace-fuzz.dll" seeds "${OUT}/seeds"
targets="${FUZZ_TARGETS:-$(dotnet "${OUT}/bin/aiops-trace-fuzz.dll" targets | sed 's/\bcanary\b//')}"
# SharpFuzz rewrites the library in place with AFL's edge coverage (only the published copy; it
# runs under afl-fuzz only from now on: replay a finding with `dotnet run --project tools/AIOps.Trace.Fuzz -- TARGET < FILE`).
dotnet sharpfuzz "${OUT}/bin/AIOps.Trace.dll"

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_QUIET=1
failed=0
mkdir -p "${OUT}/findings"
# The canary target throws on any input with a '!': if AFL++ saves no crash there, it would not see one anywhere.
afl-fuzz -i "${OUT}/seeds/canary" -o "${OUT}/findings/canary" -t "${TIMEOUT_MS}" -m none -V 20 \
    -- dotnet "${OUT}/bin/aiops-trace-fuzz.dll" canary > "${OUT}/afl-canary.log" 2>&1 || die "afl-fuzz failed on the canary: see ${OUT}/afl-canary.log"
[[ "$(awk '$1 == "saved_crashes" { print $3 }' "${OUT}/findings/canary/default/fuzzer_stats")" != 0 ]] \
    || die "the canary's crash was not seen in 20 s: the harness cannot report findings"
echo "fuzz.sh: canary crash seen: the harness reports findings"
printf '| target | seconds | executions | per second | corpus | crashes | hangs |\n|---|---|---|---|---|---|---|\n'
for t in ${targets}; do
    afl-fuzz -i "${OUT}/seeds/${t}" -o "${OUT}/findings/${t}" -t "${TIMEOUT_MS}" -m none -V "${SECONDS_EACH}" \
        -- dotnet "${OUT}/bin/aiops-trace-fuzz.dll" "${t}" > "${OUT}/afl-${t}.log" 2>&1 \
        || { echo "fuzz.sh: afl-fuzz failed on ${t}: see ${OUT}/afl-${t}.log" >&2; failed=1; continue; }
    field() { awk -v k="$1" '$1 == k { print $3 }' "${OUT}/findings/${t}/default/fuzzer_stats"; }
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${t}" "${SECONDS_EACH}" "$(field execs_done)" "$(field execs_per_sec)" \
        "$(field corpus_count)" "$(field saved_crashes)" "$(field saved_hangs)"
    if [[ "$(field saved_crashes)" != 0 || "$(field saved_hangs)" != 0 ]]; then
        echo "fuzz.sh: ${t}: findings in ${OUT}/findings/${t}/default/{crashes,hangs} (replay: dotnet run --project tools/AIOps.Trace.Fuzz -c Release -- ${t} < FILE)" >&2
        failed=1
    fi
done
exit "${failed}"
