#!/usr/bin/env bash
# Builds the AIOps.Trace image without a registry: a minimal Debian root file system made by
# mmdebstrap from the distribution's package mirror (libc, sh and a few tools, plus
# deploy/image/packages.txt, with their dependencies), plus the published NativeAOT binary and its
# native files under /opt/aiops-trace, written as a docker-archive that `docker load`, `podman load` and `ctr image import` all read. Also the
# test workloads' image: busybox-static alone. Run from anywhere; needs root (mmdebstrap), and
# ./build.sh --target=Publish first (artifacts/bin).
#
#   deploy/image/build-image.sh               # artifacts/image/aiops-trace.tar, workload.tar
#   deploy/image/build-image.sh --load        # ... and loads both into docker, podman and containerd
#                                             #     (starting dockerd/containerd when none answers)
# AIOPS_IMAGE_TAG, AIOPS_WORKLOAD_TAG name the images (aiops-trace:local, aiops-workload:local) and
# AIOPS_IMAGE_OUT the directory of the two archives (artifacts/image): the tests use their own.
#
# The mmdebstrap base is cached as artifacts/image/base-<suite>-<hash of packages.txt>.tar, so
# later runs only repack the published files (a few seconds).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
cache="${repo}/artifacts/image"
out="${AIOPS_IMAGE_OUT:-${cache}}"
bin="${repo}/artifacts/bin"
tag="${AIOPS_IMAGE_TAG:-aiops-trace:local}"
workload_tag="${AIOPS_WORKLOAD_TAG:-aiops-workload:local}"
load=0
[[ "${1:-}" == "--load" ]] && load=1

# The files of /opt/aiops-trace, the same list as deploy/Dockerfile's runtime stage copies:
# the executable, the BPF shim it loads, SQLite's native library (serve's verdict store).
app_files=(aiops-trace libaiops_shim.so libe_sqlite3.so)

"${here}/install-engines.sh"

for f in "${app_files[@]}"; do
    [[ -f "${bin}/${f}" ]] || { echo "build-image.sh: ${bin}/${f} is missing: run ./build.sh --target=Publish first" >&2; exit 2; }
done
mkdir -p "${out}"

suite="$(. /etc/os-release && echo "${VERSION_CODENAME}")"
mapfile -t packages < <(grep -v '^[[:space:]]*\(#\|$\)' "${here}/packages.txt")
# The base under the runtime libraries: libc and its loader cache, sh and the few tools pod-scope.sh
# and the readiness probe use (find, sed, sort, tr, wc, cat), bash for ldd, passwd/group for the runtimes.
base_packages=(base-files base-passwd libc6 libc-bin dash bash coreutils findutils sed grep)
key="$( (echo "${suite} extract"; printf '%s\n' "${base_packages[@]}" "${packages[@]}") | sha256sum | cut -c1-12)"
mkdir -p "${cache}"
base="${cache}/base-${suite}-${key}.tar"
if [[ ! -s "${base}" ]]; then
    echo "build-image.sh: mmdebstrap ${suite} ${base_packages[*]} ${packages[*]} (cached as ${base})"
    # The "extract" variant unpacks the packages and their dependencies without running any
    # maintainer script in a chroot (under a minute; the "essential" variant's dpkg runs took over
    # 15 minutes on a loaded 2-core machine and failed once). What those scripts would have made,
    # extract hooks (the only hooks that variant runs) make from the unpacked files: /etc/passwd
    # and /etc/group (base-passwd), the loader cache (the host's ldconfig -r on the image's
    # /etc/ld.so.conf.d), the CA bundle (the Mozilla set, what update-ca-certificates concatenates
    # by default). Documentation, man pages and locales are removed afterwards.
    mmdebstrap --quiet --format=tar --variant=extract \
        --include="$(IFS=,; echo "${base_packages[*]},${packages[*]}")" \
        --extract-hook='cp "$1"/usr/share/base-passwd/passwd.master "$1"/etc/passwd' \
        --extract-hook='cp "$1"/usr/share/base-passwd/group.master "$1"/etc/group' \
        --extract-hook='ldconfig -r "$1"' \
        --extract-hook='if [ -d "$1"/usr/share/ca-certificates/mozilla ]; then mkdir -p "$1"/etc/ssl/certs && cat "$1"/usr/share/ca-certificates/mozilla/*.crt > "$1"/etc/ssl/certs/ca-certificates.crt; fi' \
        --extract-hook='rm -rf "$1"/usr/share/man "$1"/usr/share/doc "$1"/usr/share/info "$1"/usr/share/locale "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
        "${suite}" "${base}.tmp.$$"
    mv "${base}.tmp.$$" "${base}"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

# The image's root: the base, then /opt/aiops-trace appended (tar -r), owned by root.
mkdir -p "${scratch}/app/opt/aiops-trace"
for f in "${app_files[@]}"; do install -m 0755 "${bin}/${f}" "${scratch}/app/opt/aiops-trace/${f}"; done
install -m 0755 "${repo}/deploy/pod-scope.sh" "${scratch}/app/opt/aiops-trace/pod-scope.sh"
cp "${base}" "${scratch}/rootfs.tar"
tar -C "${scratch}/app" --owner=0 --group=0 --numeric-owner -rf "${scratch}/rootfs.tar" ./opt/aiops-trace

# The workload image: busybox-static and its applet links, nothing else.
mkdir -p "${scratch}/workload/bin" "${scratch}/workload/tmp"
install -m 0755 /bin/busybox "${scratch}/workload/bin/busybox"
for applet in sh sleep cat yes true nproc; do ln -s busybox "${scratch}/workload/bin/${applet}"; done
tar -C "${scratch}/workload" --owner=0 --group=0 --numeric-owner -cf "${scratch}/workload.tar" .

"${here}/docker-archive.sh" "${scratch}/rootfs.tar" "${tag}" "${out}/aiops-trace.tar" \
    '{"Entrypoint":["/opt/aiops-trace/aiops-trace"],"Cmd":["serve","--listen","0.0.0.0:9464","--token-file","/etc/aiops-trace/token"],"Env":["PATH=/opt/aiops-trace:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"9464/tcp":{}},"User":"0"}'
"${here}/docker-archive.sh" "${scratch}/workload.tar" "${workload_tag}" "${out}/workload.tar" \
    '{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]}'
echo "build-image.sh: ${out}/aiops-trace.tar (${tag}, $(du -h "${out}/aiops-trace.tar" | cut -f1)), ${out}/workload.tar (${workload_tag})"

if (( load )); then
    state="${out}/engines"
    "${here}/engines.sh" start "${state}"
    for archive in "${out}/aiops-trace.tar" "${out}/workload.tar"; do
        docker load -q -i "${archive}"
        podman load -q -i "${archive}"
        ctr -n default image import "${archive}"
    done
    "${here}/engines.sh" stop "${state}"
fi
