#!/usr/bin/env bash
# Stops what deploy/start.sh DIR started: nginx and the responders whose pid files are in DIR.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
run=$1
pids=()
for f in "$run"/nginx.pid "$run"/tsad.pid "$run"/ocspd.pid; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    case $pid in '' | *[!0-9]*) continue ;; esac
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$f"
done
# up to 5 s to finish what they are doing, then no more waiting
for i in $(seq 50); do
    left=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ ${#left[@]} -gt 0 ] || exit 0
    sleep 0.1
done
for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null; done
exit 0
