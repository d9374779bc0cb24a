#!/bin/sh
# Runs `aiops-trace serve` scoped to the containers of ONE pod: the sidecar deployment.
#
# The pod's UID comes from the downward API (POD_UID). Its cgroup directory is found under the
# host's cgroup mount with either kubelet cgroup driver:
#   systemd:   /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _>.slice/<container>.scope
#   cgroupfs:  /kubepods/<qos>/pod<uid>/<container id>
#   podman kube play (cgroupfs manager): /libpod_parent/<pod id>/libpod-<container id>, where the
#   downward API's metadata.uid is the pod id
# and every child directory (one per container, the sandbox's pause container included) is
# passed as --cgroup. Containers that start or restart later get new cgroups: the set is read
# again every RESCAN_SECONDS and serve is restarted (SIGTERM: links detached) when it changed.
# Extra arguments are passed to serve.
set -eu

CGROUP_ROOT="${CGROUP_ROOT:-/sys/fs/cgroup}"
RESCAN_SECONDS="${RESCAN_SECONDS:-10}"
AIOPS_TRACE="${AIOPS_TRACE:-/opt/aiops-trace/aiops-trace}"

if [ -z "${POD_UID:-}" ]; then
    echo "pod-scope.sh: POD_UID is not set: give it the pod's metadata.uid through the downward API" >&2
    exit 2
fi

# The hierarchy the engine reads cpu figures from: v1 cpu controller, else the v2 root.
hierarchy() {
    for h in "$CGROUP_ROOT/cpu" "$CGROUP_ROOT/cpu,cpuacct"; do
        [ -d "$h" ] && { echo "$h"; return; }
    done
    echo "$CGROUP_ROOT"
}

# Prints the pod's container cgroups relative to the hierarchy, one a line, sorted.
pod_cgroups() {
    h="$(hierarchy)"
    uid_underscore="$(echo "$POD_UID" | tr '-' '_')"
    find "$h" -maxdepth 4 -type d \( -name "pod$POD_UID" -o -name "pod$uid_underscore" -o -path "*/libpod_parent/$POD_UID" \
        -o -name "*-pod$uid_underscore.slice" -o -name "*-pod$POD_UID.slice" \) 2>/dev/null |
    while read -r pod; do
        find "$pod" -mindepth 1 -maxdepth 1 -type d
    done | sed "s|^$h||" | sort
}

if [ "${1:-}" = "--list" ]; then
    pod_cgroups
    exit 0
fi

child=""
stop() {
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" || true
    exit 0
}
trap stop TERM INT

current=""
while :; do
    wanted="$(pod_cgroups)"
    if [ -n "$wanted" ] && [ "$wanted" != "$current" ]; then
        if [ -n "$child" ]; then
            kill -TERM "$child" 2>/dev/null || true
            wait "$child" || true
        fi
        args=""
        for c in $wanted; do args="$args --cgroup $c"; done
        echo "pod-scope.sh: watching $(echo "$wanted" | wc -l) cgroups of pod $POD_UID" >&2
        # shellcheck disable=SC2086 # cgroup paths hold no spaces: kubelet names them
        "$AIOPS_TRACE" serve $args "$@" &
        child=$!
        current="$wanted"
    elif [ -n "$child" ] && ! kill -0 "$child" 2>/dev/null; then
        wait "$child" || exit $?
        exit 0
    fi
    sleep "$RESCAN_SECONDS" &
    wait $! || true
done
