#!/usr/bin/env bash
# Start a Docker engine in the background when none answers (idempotent, run as root).
#   DOCKER_START_TIMEOUT  seconds to wait for `docker info` (default 60)
#   DOCKERD_LOG           dockerd's log file (default /tmp/dockerd.log)
# Exit 0 when `docker info` answers, 1 otherwise (CI decides whether Docker is optional).
set -u
TIMEOUT="${DOCKER_START_TIMEOUT:-60}"
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"

answers() { timeout 10 docker info >/dev/null 2>&1; }

if answers; then
    echo "setup-docker: engine already answering ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup-docker: installing docker.io"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "setup-docker: dockerd not installed" >&2
    exit 1
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    # A stale pid file from a killed engine stops a new one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    echo "setup-docker: starting dockerd (log: $LOG)"
    setsid dockerd >>"$LOG" 2>&1 < /dev/null &
fi

deadline=$(( $(date +%s) + TIMEOUT ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if answers; then
        echo "setup-docker: engine answering ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
        exit 0
    fi
    sleep 0.5
done
echo "setup-docker: docker info did not answer within ${TIMEOUT}s; tail of $LOG:" >&2
tail -n 20 "$LOG" >&2 2>/dev/null
exit 1
