#!/usr/bin/env bash
# Builds AIOps.Trace: installs the kernel-side toolchain when missing, then hands over to Cake.
# Usage: ./build.sh [--target=Build|Test|Bench|Publish|Image|Run|Overhead|Clean] [--configuration=Release]
#                   [--filter=<dotnet test filter>] [--bench-filter=<BenchmarkDotNet filter>]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The BPF object needs clang/llvm-strip/bpftool, the shim libbpf/libelf/zlib; the overhead
# script compares against libbpf-tools' runqlat under perf's pipe benchmark.
debian_packages=(clang llvm libbpf-dev bpftool libbpf-tools stress-ng linux-perf prometheus
                 libelf-dev zlib1g-dev make gcc pkg-config iperf3 nftables chromium curl libsvm-dev fio time python3 iproute2 util-linux)

as_root() {
    if [[ ${EUID} -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "build.sh: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

missing=()
for package in "${debian_packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)"
    [[ "${status}" == "install ok installed" ]] || missing+=("${package}")
done
if (( ${#missing[@]} > 0 )); then
    echo "build.sh: installing missing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Classic tracepoints (tp/) attach through tracefs, which a fresh machine may not have mounted.
if ! awk '$2 == "/sys/kernel/tracing" && $3 == "tracefs" { found = 1 } END { exit !found }' /proc/self/mounts; then
    if [[ ${EUID} -eq 0 ]]; then
        mount -t tracefs tracefs /sys/kernel/tracing \
            || echo "build.sh: warning: could not mount tracefs at /sys/kernel/tracing; classic tracepoints will not attach" >&2
    else
        echo "build.sh: warning: tracefs is not mounted at /sys/kernel/tracing and we are not root" >&2
    fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: the .NET SDK (dotnet) is not on PATH" >&2
    exit 1
fi

dotnet tool restore
exec dotnet cake build.cake "$@"
