#!/usr/bin/env bash
# The real kernel matrix: boots Debian kernels other than the host's under qemu and runs the
# kernel-facing ground-truth scenarios (tests/kernel-matrix/init) in each. Called by
# `./build.sh --target=KernelMatrix`, which publishes artifacts/bin first and then judges the
# figures this script collects; run alone it only boots and collects.
#
# Usage: tests/kernel-matrix/run.sh [SUITE...]        (default: bullseye bookworm trixie)
#   Each kernel boots once per cgroup layout in LAYOUTS (default "hybrid v2"): hybrid is v1 cpu,
#   cpuacct, cpuset, memory + an empty v2 hierarchy (this host's layout); v2 is pure cgroup v2
#   (systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all on the kernel line).
#   Each suite's current linux-image-cloud-amd64 is fetched (apt-get download with a private apt
#   state under artifacts/kernel-matrix/apt; the system's sources are not touched), unpacked with
#   dpkg-deb and booted with an initramfs holding busybox, the published CLI and its libraries.
# Environment: TIERS (default "auto,perfbuf:raw_tp:kprobe,ringbuf:tracepoint:kprobe": doctor's own choice, then
#   forced tiers, each transport:attach[:throttle hook] with the hook fentry, kprobe, none or auto),
#   BOOT_TIMEOUT (seconds per boot, default 1200), QEMU_SMP (default 2), QEMU_MEM (default 2G),
#   PARALLEL (kernels booted at once, default 1).
# Output per kernel and layout: artifacts/kernel-matrix/<release>/<layout>/{console.log,results.log,boot.txt};
# artifacts/kernel-matrix/runs.txt lists "<release> <layout>" per boot.
set -euo pipefail
die() { echo "kernel-matrix: $*" >&2; exit 1; }
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${repo}/artifacts/kernel-matrix"
bin="${repo}/artifacts/bin"
tiers="${TIERS:-auto,perfbuf:raw_tp:kprobe,ringbuf:tracepoint:kprobe}"
boot_timeout="${BOOT_TIMEOUT:-1200}"
read -r -a layouts <<< "${LAYOUTS:-hybrid v2}"
for l in "${layouts[@]}"; do [[ ${l} == hybrid || ${l} == v2 ]] || die "LAYOUTS: '${l}' is not known: expected hybrid or v2"; done
suites=("$@")
(( ${#suites[@]} > 0 )) || suites=(bullseye bookworm trixie)

[[ ${EUID} -eq 0 ]] || die "needs root (apt-get, and dpkg-deb to unpack kernels)"
[[ -x "${bin}/aiops-trace" && -f "${bin}/libaiops_shim.so" ]] || die "no ${bin}/aiops-trace: run ./build.sh --target=Publish first"

# Only this target needs these (large) packages: installed on demand, not by build.sh.
packages=(qemu-system-x86 busybox-static cpio)
missing=()
for p in "${packages[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
    echo "kernel-matrix: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# A private apt state that knows the suites asked for.
apt_dir="${out}/apt"
mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache/archives/partial" "${apt_dir}/preferences.d" "${out}/debs"
touch "${apt_dir}/status"
sources="${apt_dir}/sources.list.new"
: > "${sources}"
for s in "${suites[@]}"; do
    echo "deb http://deb.debian.org/debian ${s} main" >> "${sources}"
done
apt_opts=(-o "Dir::Etc::SourceList=${apt_dir}/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=${apt_dir}/lists" -o "Dir::Cache=${apt_dir}/cache"
          -o "Dir::State::Status=${apt_dir}/status" -o Dir::Etc::Preferences=/dev/null
          -o "Dir::Etc::PreferencesParts=${apt_dir}/preferences.d" -o APT::Sandbox::User=root
          -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
          -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
          -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
          -o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false)
# Refresh when the suites changed or the lists are older than a day.
if ! cmp -s "${sources}" "${apt_dir}/sources.list" || [[ -z "$(find "${apt_dir}/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit)" ]]; then
    mv "${sources}" "${apt_dir}/sources.list"
    apt-get "${apt_opts[@]}" update
else
    rm -f "${sources}"
fi

# Each suite's current cloud kernel (the cloud flavour: smaller, and everything needed is built in:
# 8250 serial console, BPF, BTF, cgroups, CFS bandwidth, schedstats).
kernels=()
for s in "${suites[@]}"; do
    pkg="$(apt-cache "${apt_opts[@]}" show "linux-image-cloud-amd64/${s}" | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)"
    [[ -n "${pkg}" ]] || die "suite ${s} has no linux-image-cloud-amd64"
    dir="${out}/kernels/${pkg}"
    if [[ ! -d "${dir}/boot" ]]; then
        deb="$(ls "${out}/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)"
        if [[ -z "${deb}" ]]; then
            (cd "${out}/debs" && apt-get "${apt_opts[@]}" download "${pkg}")
            deb="$(ls "${out}/debs/${pkg}"_*.deb | head -1)"
        fi
        rm -rf "${dir}.tmp" && mkdir -p "${dir}.tmp"
        # Only the kernel image: no modules are needed (the initramfs loads none).
        dpkg-deb --fsys-tarfile "${deb}" | tar -x -C "${dir}.tmp" --wildcards './boot/vmlinuz-*' './boot/config-*'
        mv "${dir}.tmp" "${dir}"
    fi
    kernels+=("$(ls "${dir}"/boot/vmlinuz-* | head -1)")
done

# The initramfs: static busybox, the CLI with its shim and the shared libraries both need.
root="${out}/initramfs"
rm -rf "${root}" && mkdir -p "${root}"/{bin,opt/aiops,proc,sys,dev,tmp}
busybox="$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')"
cp "${busybox}" "${root}/bin/busybox"
cp "${bin}/aiops-trace" "${bin}/libaiops_shim.so" "${root}/opt/aiops/"
cp "${repo}/tests/kernel-matrix/init" "${root}/init"
chmod +x "${root}/init"
for elf in "${bin}/aiops-trace" "${bin}/libaiops_shim.so"; do
    for lib in $(ldd "${elf}" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
        mkdir -p "${root}$(dirname "${lib}")"
        cp -L "${lib}" "${root}${lib}"
    done
done
(cd "${root}" && find . | cpio -o -H newc --quiet | gzip -1) > "${out}/initramfs.cpio.gz"

if [[ -w /dev/kvm ]]; then
    accel=(-enable-kvm -cpu host); accel_name="KVM"
else
    # No /dev/kvm (as on the development VM): software emulation, several times slower, but the
    # guest kernel's own clocks and counters are what the checks compare against.
    accel=(-accel tcg,thread=multi -cpu max); accel_name="TCG (software emulation)"
fi
: > "${out}/kernels.txt"
: > "${out}/runs.txt"
# One kernel's boots, one per layout, one after the other.
boot_kernel() {
    local vmlinuz=$1 release=$2 layout dir cmdline start rc seconds
    for layout in "${layouts[@]}"; do
        dir="${out}/${release}/${layout}"
        mkdir -p "${dir}"
        # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can miss its
        # window and panic ("IO-APIC + timer doesn't work"); the guest's timer works regardless.
        cmdline="console=ttyS0 loglevel=4 panic=-1 no_timer_check psi=1 aiops.tiers=${tiers} aiops.cgroup=${layout}"
        [[ ${layout} == v2 ]] && cmdline+=" systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
        echo "kernel-matrix: booting ${release}, cgroup ${layout} (${accel[*]}, tiers ${tiers}, at most ${boot_timeout} s)"
        start=$(date +%s)
        rc=0
        timeout --kill-after=10 "${boot_timeout}" qemu-system-x86_64 "${accel[@]}" \
            -m "${QEMU_MEM:-2G}" -smp "${QEMU_SMP:-2}" -display none -no-reboot -monitor none \
            -kernel "${vmlinuz}" -initrd "${out}/initramfs.cpio.gz" -append "${cmdline}" \
            -serial "file:${dir}/console.log" -serial "file:${dir}/results.log" </dev/null || rc=$?
        seconds=$(( $(date +%s) - start ))
        printf 'accel=%s\nseconds=%d\nqemu_exit=%d\ntimed_out=%s\ncmdline=%s\nparallel=%s\n' "${accel_name}" "${seconds}" "${rc}" \
            "$([[ ${rc} -eq 124 || ${rc} -eq 137 ]] && echo yes || echo no)" "${cmdline}" "${parallel}" > "${dir}/boot.txt"
        echo "kernel-matrix: ${release} ${layout}: qemu exit ${rc} after ${seconds} s; $(grep -c '^AIOPS' "${dir}/results.log" || true) result lines"
    done
}
# PARALLEL kernels boot at once (default 1): each guest has its own CPUs' worth of qemu threads,
# so on a shared host this shortens the run; the checks compare each guest with its own counters.
parallel="${PARALLEL:-1}"
pids=()
for vmlinuz in "${kernels[@]}"; do
    release="${vmlinuz##*/vmlinuz-}"
    echo "${release}" >> "${out}/kernels.txt"
    for layout in "${layouts[@]}"; do echo "${release} ${layout}" >> "${out}/runs.txt"; done
    rm -rf "${out:?}/${release}"
    boot_kernel "${vmlinuz}" "${release}" &
    pids+=($!)
    if (( ${#pids[@]} >= parallel )); then
        wait "${pids[0]}"
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do wait "${pid}"; done
