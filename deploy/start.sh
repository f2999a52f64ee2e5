#!/usr/bin/env bash
# Starts the responders and nginx in front of them on loopback, for tests and demos:
#   deploy/start.sh --run DIR --port N|0|auto --tsa-cert C --tsa-key K [--tsa-pass-file F]
#                   [--tsa-chain F] [--tsa-policy OID] [--ca CADIR] [--bin BUILD/bin]
# tsad always; ocspd when BIN/ocspd exists and --ca is given; nginx serves /tsa, /ocsp and
# CADIR/crl/ as /crl/. Everything lives in DIR (sockets, logs, pid files, nginx's temporary files).
# Waits until they answer, then prints the base URL (also written to DIR/url) and returns; the
# programs keep running until deploy/stop.sh DIR. Exit 1 (and nothing left running) on failure,
# 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
run="" port="" cert="" key="" pass="" chain="" policy="" ca="" bin="$here/../build/bin"

usage() {
    echo "usage: $0 --run DIR --port N|0|auto --tsa-cert C --tsa-key K [--tsa-pass-file F]" >&2
    echo "          [--tsa-chain F] [--tsa-policy OID] [--ca CADIR] [--bin BUILD/bin]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
    --run) run=$2 ;;
    --port) port=$2 ;;
    --tsa-cert) cert=$2 ;;
    --tsa-key) key=$2 ;;
    --tsa-pass-file) pass=$2 ;;
    --tsa-chain) chain=$2 ;;
    --tsa-policy) policy=$2 ;;
    --ca) ca=$2 ;;
    --bin) bin=$2 ;;
    *) usage ;;
    esac
    shift 2
done
[ -n "$run" ] && [ -n "$port" ] && [ -n "$cert" ] && [ -n "$key" ] || usage
case $port in auto | 0 | [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9]) ;; *) usage ;; esac
[ "$port" = auto ] || [ "$port" -le 65535 ] || usage

die() {
    echo "start.sh: $*" >&2
    "$here/stop.sh" "$run" >/dev/null 2>&1 || true
    exit 1
}
abspath() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }

command -v nginx >/dev/null || die "nginx is not installed (scripts/install-deps.sh)"
[ -x "$bin/tsad" ] || die "$bin/tsad not found (build first, or give --bin)"
mkdir -p "$run/tmp"
run=$(cd "$run" && pwd)
for f in cert key pass chain; do
    [ -z "${!f}" ] || [ -r "${!f}" ] || die "cannot read ${!f}"
done
cert=$(abspath "$cert")
key=$(abspath "$key")
[ -z "$pass" ] || pass=$(abspath "$pass")
[ -z "$chain" ] || chain=$(abspath "$chain")
if [ -n "$ca" ]; then
    [ -d "$ca" ] || die "$ca is not a directory"
    ca=$(cd "$ca" && pwd)
fi
# a UNIX socket path must fit in sun_path (108 bytes)
[ ${#run} -lt 90 ] || die "$run is too long a path for the sockets in it"

# waits up to 10 s for a condition; $1 names what is awaited
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 100); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    die "$what did not come up (see $run/*.log)"
}
alive() { kill -0 "$(cat "$1")" 2>/dev/null; }
sock_up() { [ -S "$1" ] || { alive "$2" || die "$(basename "$2" .pid) exited: $(tail -1 "${2%.pid}.log")"; return 1; }; }

# the responders, each on its UNIX socket
args=(--cert "$cert" --key "$key" --socket "$run/tsad.sock")
[ -z "$pass" ] || args+=(--pass-file "$pass")
[ -z "$chain" ] || args+=(--chain "$chain")
[ -z "$policy" ] || args+=(--policy "$policy")
rm -f "$run/tsad.sock"
"$bin/tsad" "${args[@]}" </dev/null >"$run/tsad.log" 2>&1 &
echo $! >"$run/tsad.pid"
wait_for tsad sock_up "$run/tsad.sock" "$run/tsad.pid"
if [ -n "$ca" ] && [ -x "$bin/ocspd" ]; then
    rm -f "$run/ocspd.sock"
    "$bin/ocspd" --ca "$ca" --socket "$run/ocspd.sock" </dev/null >"$run/ocspd.log" 2>&1 &
    echo $! >"$run/ocspd.pid"
    wait_for ocspd sock_up "$run/ocspd.sock" "$run/ocspd.pid"
fi

# nginx; a port picked free may be taken before nginx binds it: then another one
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
user=""
if [ "$(id -u)" -eq 0 ]; then
    # as root nginx's workers would become nobody, who cannot reach the sockets: keep them as us
    user="user $(id -un) $(id -gn);"
fi
answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null; }
tries=1
if [ "$port" = auto ] || [ "$port" = 0 ]; then tries=5; fi
for attempt in $(seq "$tries"); do
    p=$port
    if [ "$port" = auto ] || [ "$port" = 0 ]; then p=$(free_port); fi
    sed -e "s|@RUN@|$run|g" -e "s|@PORT@|$p|g" -e "s|@CADIR@|${ca:-$run/no-ca}|g" \
        -e "s|@USER@|$user|g" "$here/nginx.conf.in" >"$run/nginx.conf"
    cp "$here/fastcgi.params" "$run/fastcgi.params"
    rm -f "$run/nginx.pid"
    nginx -p "$run" -c "$run/nginx.conf" -e "$run/error.log" </dev/null >"$run/nginx.log" 2>&1 &
    pid=$!
    up=0
    for i in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if [ -s "$run/nginx.pid" ] && answers "$p"; then
            up=1
            break
        fi
        sleep 0.1
    done
    if [ "$up" -eq 1 ]; then
        break
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$attempt" -lt "$tries" ] || die "nginx did not start: $(tail -1 "$run/error.log" 2>/dev/null)"
done
echo "$pid" >"$run/nginx.pid"
echo "http://127.0.0.1:$p" >"$run/url"
echo "http://127.0.0.1:$p"
