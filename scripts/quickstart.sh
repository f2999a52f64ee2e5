#!/usr/bin/env bash
# Quick start: install what is missing, build, and seal the sample licence with a demo key,
# then show what poppler's pdfsig says about the result.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# A throwaway demo PKI and seal picture (never use these for anything real).
tests/pki/make-pki.sh build/demo/pki >/dev/null
build/tests/make_test_seal build/demo/seal.png 496

mkdir -p out
build/bin/eseal sign samples/licence.pdf out/licence-sealed.pdf \
    --key build/demo/pki/rsa2048.key --cert build/demo/pki/rsa2048.pem \
    --chain build/demo/pki/chain.pem \
    --page 1 --rect 134,69,42,42 --image build/demo/seal.png \
    --reason "Licence issued" --location "Demo bureau"
echo
echo "The sealed licence is $(pwd)/out/licence-sealed.pdf; pdfsig says:"
pdfsig out/licence-sealed.pdf
