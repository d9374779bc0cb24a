#!/usr/bin/env bash
# Starts the container engines the image is loaded into and tested under, on a machine without
# an init system, and stops only what it started:
#   engines.sh start STATE_DIR   # containerd, then dockerd on it, unless each already answers
#   engines.sh stop STATE_DIR    # SIGTERM to the daemons this script started (pids in STATE_DIR)
# podman needs no daemon. Logs go to STATE_DIR/<daemon>.log.
set -euo pipefail
action="${1:?start or stop}" state="${2:?state directory}"
mkdir -p "${state}"

wait_for() { # description, command...
    local what="$1"; shift
    for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    echo "engines.sh: ${what} did not answer within 60 s (see ${state})" >&2
    return 1
}

start() { # name, probe command, daemon command...
    local name="$1" probe="$2"; shift 2
    if ${probe} >/dev/null 2>&1; then
        echo "engines.sh: ${name} already running"
        return 0
    fi
    setsid "$@" > "${state}/${name}.log" 2>&1 < /dev/null &
    echo $! > "${state}/${name}.pid"
    wait_for "${name}" ${probe}
    echo "engines.sh: started ${name} (pid $(cat "${state}/${name}.pid"))"
}

stop() { # name
    local pidfile="${state}/$1.pid"
    [[ -f "${pidfile}" ]] || return 0
    local pid; pid="$(cat "${pidfile}")"
    if kill -TERM "${pid}" 2>/dev/null; then
        for _ in $(seq 1 60); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.5; done
        kill -0 "${pid}" 2>/dev/null && { echo "engines.sh: $1 (pid ${pid}) ignored SIGTERM for 30 s; killing it" >&2; kill -KILL "${pid}"; }
        echo "engines.sh: stopped $1 (pid ${pid})"
    fi
    rm -f "${pidfile}"
}

case "${action}" in
    start)
        start containerd "timeout 5 ctr version" containerd
        start dockerd "timeout 10 docker info" dockerd --containerd=/run/containerd/containerd.sock
        ;;
    stop)
        stop dockerd
        stop containerd
        ;;
    *) echo "engines.sh: unknown action '${action}': expected start or stop" >&2; exit 2 ;;
esac
