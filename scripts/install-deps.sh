#!/usr/bin/env bash
# Installs what eseal needs on Debian 12 from Debian's packages: build tools and libraries, and
# the outside tools the tests check our output with (pdfsig, qpdf, Ghostscript, openssl).
# Does nothing when everything is already there. Uses sudo when not run as root.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang-format
    libqpdf-dev libssl-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev libfreetype-dev
    libqrencode-dev libfcgi-dev libsqlite3-dev libp11-kit-dev
    # the responders run behind nginx (deploy/start.sh runs its own instance on loopback)
    nginx
    # the CJK font seals and watermarks are drawn with
    fonts-noto-cjk
    # tests and benchmarks: outside judges of what eseal writes
    qpdf poppler-utils ghostscript openssl zbar-tools jq hyperfine time xxd
    curl python3
    # keys in a PKCS#11 token: SoftHSM2 is the token of the tests and benchmarks (each test makes
    # its own, with SOFTHSM2_CONF pointing at a private token directory)
    softhsm2
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Installing nginx must not start the system's own instance (on port 80, where it may fail and fail
# the installation, or take the port from something else): no service starts while we install,
# and a system nginx we installed is not started at boot either. deploy/start.sh runs its own.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    added_policy=1
fi
remove_policy() { if [ "$added_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi; }
trap remove_policy EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now nginx.service >/dev/null 2>&1 || true
fi
