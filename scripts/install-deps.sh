#!/usr/bin/env bash
# Installs what eseal needs on Debian 12 from Debian's packages: build tools and libraries, and
# the outside tools the tests check our output with (pdfsig, qpdf, Ghostscript, openssl).
# Does nothing when everything is already there. Uses sudo when not run as root.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang-format
    libqpdf-dev libssl-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev libfreetype-dev
    libqrencode-dev libp11-kit-dev
    # the CJK font seals and watermarks are drawn with
    fonts-noto-cjk
    # tests and benchmarks: outside judges of what eseal writes
    qpdf poppler-utils ghostscript openssl zbar-tools jq hyperfine time
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
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
