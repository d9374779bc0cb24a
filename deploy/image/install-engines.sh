#!/usr/bin/env bash
# Installs what the local image and the container tests need, when missing: mmdebstrap (the base),
# busybox-static (the workload image), the engines (docker.io, podman and catatonit, the pause
# process of its pods, containerd, runc), iproute2 (a namespaced interface for the network test), curl
# (the sidecar test asks its API from inside the pod's network namespace) and
# setpriv/capsh (running the CLI with exactly the manifests' capabilities).
set -euo pipefail
packages=(mmdebstrap busybox-static docker.io podman catatonit containerd runc util-linux libcap2-bin iproute2 curl)
missing=()
for p in "${packages[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "${p}" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("${p}")
done
if (( ${#missing[@]} > 0 )); then
    echo "install-engines.sh: installing ${missing[*]}"
    # Other builds may hold the dpkg lock: wait for it instead of failing.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi
