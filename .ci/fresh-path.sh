#!/usr/bin/env bash
# Print a PATH that looks like a fresh machine's: a directory of links to every program on the current PATH
# except the servers a fresh machine lacks (redis-server and friends, valkey-server, dockerd, containerd, runc,
# ffmpeg). Nothing is uninstalled. Usage: PATH=$(.ci/fresh-path.sh DIR) command...
set -u
farm=${1:?usage: fresh-path.sh DIR}
hide='^(redis-server|redis-cli|redis-benchmark|redis-check-aof|redis-check-rdb|redis-sentinel|valkey-server|valkey-cli|dockerd|containerd|containerd-shim.*|runc|docker-init|docker-proxy|ffmpeg|ffprobe)$'
mkdir -p "$farm"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n=${f##*/}
    [[ $n =~ $hide ]] && continue
    [ -e "$farm/$n" ] || ln -s "$f" "$farm/$n" 2>/dev/null
  done
done
echo "$farm"
