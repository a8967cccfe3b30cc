#!/usr/bin/env bash
# Make sure the images the hermetic stack needs exist locally, under standard, configurable names.
#
#   images/build.sh [--force] [--no-pull] [debian] [redis] [postgres] [worker]     (default: all four)
#
#   DEBIAN_IMAGE    debian:bookworm-slim        pulled, else debootstrap --variant=minbase + docker import
#   REDIS_IMAGE     redis:7                     pulled, else built from images/redis (FROM $DEBIAN_IMAGE)
#   POSTGRES_IMAGE  postgres:15                 pulled, else built from images/postgres (FROM $DEBIAN_IMAGE)
#   WORKER_IMAGE    academy-video-worker:local  built from reference/Dockerfile.worker (context: repo root)
#   PULL_TIMEOUT    seconds for each `docker pull` attempt (default 60; no registry answers -> fails at once)
#   DEBIAN_MIRROR   mirror for debootstrap (default: debootstrap's own)
#   EXTRA_CA_DIR    host CA certificates (*.crt) copied into a debootstrapped base image
#                   (default /usr/local/share/ca-certificates; '' = none)
#
# An image that already exists is kept (re-runs take about a second). Locally built images carry a label
# academy.source-hash; the worker (and the redis/postgres stand-ins) are rebuilt when their sources change.
# --force rebuilds (or re-pulls) every selected image. --no-pull never asks a registry.
# Prints one timing line per image and a summary; exits non-zero when an image could not be provided.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DEBIAN_IMAGE="${DEBIAN_IMAGE:-debian:bookworm-slim}"
REDIS_IMAGE="${REDIS_IMAGE:-redis:7}"
POSTGRES_IMAGE="${POSTGRES_IMAGE:-postgres:15}"
WORKER_IMAGE="${WORKER_IMAGE:-academy-video-worker:local}"
PULL_TIMEOUT="${PULL_TIMEOUT:-60}"

FORCE=0; PULL=1; TARGETS=()
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --no-pull) PULL=0 ;;
        -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
        debian|redis|postgres|worker) TARGETS+=("$arg") ;;
        *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
[ "${#TARGETS[@]}" -eq 0 ] && TARGETS=(debian redis postgres worker)

if ! timeout 15 docker info >/dev/null 2>&1; then
    echo "build.sh: docker does not answer (run .ci/setup-docker.sh first)" >&2
    exit 1
fi
# The classic builder when the buildx plugin is missing (docker.io on Debian ships none).
if ! docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi

SUMMARY=(); FAILED=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "build.sh: $*"; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }
label() { docker image inspect -f "{{ index .Config.Labels \"academy.source-hash\" }}" "$1" 2>/dev/null; }
record() { SUMMARY+=("$(printf '%-30s %-28s %ss' "$1" "$2" "$3")"); log "$1: $2 (${3}s)"; }
hash_of() {  # content hash of files (paths relative to ROOT), order-independent of find's order
    (cd "$ROOT" && find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 2>/dev/null \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}
try_pull() {
    [ "$PULL" = 1 ] || return 1
    log "trying docker pull $1 (timeout ${PULL_TIMEOUT}s)"
    timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1
}

build_debian() {
    local t0; t0=$(now)
    if [ "$FORCE" = 0 ] && exists "$DEBIAN_IMAGE"; then record "$DEBIAN_IMAGE" "present" "$(elapsed "$t0")"; return 0; fi
    if try_pull "$DEBIAN_IMAGE"; then record "$DEBIAN_IMAGE" "pulled" "$(elapsed "$t0")"; return 0; fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "no registry and no debootstrap: cannot provide $DEBIAN_IMAGE" >&2; return 1
    fi
    local rootfs; rootfs="$(mktemp -d /tmp/academy-rootfs.XXXXXX)"
    log "debootstrap --variant=minbase bookworm $rootfs"
    if ! debootstrap --variant=minbase bookworm "$rootfs" ${DEBIAN_MIRROR:-} >"$rootfs.log" 2>&1; then
        tail -n 20 "$rootfs.log" >&2; rm -rf "$rootfs" "$rootfs.log"; return 1
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs.log"
    # A machine without a registry often sits behind a TLS-inspecting proxy whose CA only the host trusts
    # (pip in a build then fails with CERTIFICATE_VERIFY_FAILED). Carry the host's local CAs into the
    # stand-in base image; the ca-certificates package of any later `apt-get install` adds them to the
    # system bundle. EXTRA_CA_DIR='' disables this.
    local ca_dir="${EXTRA_CA_DIR-/usr/local/share/ca-certificates}"
    if [ -n "$ca_dir" ] && compgen -G "$ca_dir/*.crt" >/dev/null; then
        mkdir -p "$rootfs/usr/local/share/ca-certificates"
        cp "$ca_dir"/*.crt "$rootfs/usr/local/share/ca-certificates/"
        log "added $(ls "$ca_dir"/*.crt | wc -l) local CA certificate(s) from $ca_dir to $DEBIAN_IMAGE"
    fi
    if ! tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            - "$DEBIAN_IMAGE" >/dev/null; then
        rm -rf "$rootfs"; return 1
    fi
    rm -rf "$rootfs"
    record "$DEBIAN_IMAGE" "debootstrap + import" "$(elapsed "$t0")"
}

# build_local IMAGE CONTEXT DOCKERFILE HASH-INPUTS...
build_local() {
    local image="$1" context="$2" dockerfile="$3"; shift 3
    local t0 h old; t0=$(now); h="$(hash_of "$@")"
    old="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    exists "$DEBIAN_IMAGE" || build_debian || return 1
    log "docker build -t $image -f ${dockerfile#"$ROOT"/} ${context#"$ROOT"/}"
    if ! docker build -q --force-rm --network host --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" \
            --label "academy.source-hash=$h" -t "$image" -f "$dockerfile" "$context" >/tmp/academy-build.log 2>&1; then
        tail -n 30 /tmp/academy-build.log >&2; return 1
    fi
    # The image this build replaced is now untagged: drop it (fails harmlessly if a container uses it).
    if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)" ]; then
        docker rmi "$old" >/dev/null 2>&1 || true
    fi
    record "$image" "built locally" "$(elapsed "$t0")"
}

provide_service() {  # provide_service IMAGE DIR
    local image="$1" dir="$HERE/$2" t0; t0=$(now)
    if [ "$FORCE" = 0 ] && exists "$image"; then
        local have; have="$(label "$image")"
        # A pulled official image carries no label: keep it. A stand-in is rebuilt when its files changed.
        if [ -z "$have" ] || [ "$have" = "$(hash_of "images/$2")" ]; then
            record "$image" "present" "$(elapsed "$t0")"; return 0
        fi
        log "$image: images/$2 changed since it was built"
    elif try_pull "$image"; then
        record "$image" "pulled" "$(elapsed "$t0")"; return 0
    fi
    build_local "$image" "$dir" "$dir/Dockerfile" "images/$2"
}

build_worker() {
    local t0; t0=$(now)
    local dockerfile="$ROOT/reference/Dockerfile.worker"
    if [ ! -f "$dockerfile" ]; then log "reference/Dockerfile.worker not found: cannot build $WORKER_IMAGE" >&2; return 1; fi
    if [ "$FORCE" = 0 ] && exists "$WORKER_IMAGE" && [ "$(label "$WORKER_IMAGE")" = "$(hash_of reference)" ]; then
        record "$WORKER_IMAGE" "present (sources unchanged)" "$(elapsed "$t0")"; return 0
    fi
    build_local "$WORKER_IMAGE" "$ROOT" "$dockerfile" reference
}

T_ALL=$(now)
for t in "${TARGETS[@]}"; do
    case "$t" in
        debian) build_debian ;;
        redis) provide_service "$REDIS_IMAGE" redis ;;
        postgres) provide_service "$POSTGRES_IMAGE" postgres ;;
        worker) build_worker ;;
    esac || { FAILED=1; SUMMARY+=("$(printf '%-30s %s' "$t" "FAILED")"); }
done
echo "build.sh: summary (total $(elapsed "$T_ALL")s)"
printf '  %s\n' "${SUMMARY[@]}"
exit "$FAILED"
