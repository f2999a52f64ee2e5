#!/usr/bin/env bash
# Quick start: install what is missing, build, and seal the sample licence with a demo key,
# then show what poppler's pdfsig says about the result.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# A throwaway demo PKI (never use it for anything real).
tests/pki/make-pki.sh build/demo/pki >/dev/null

mkdir -p out
# The bureau issues a licence: the sample licence stamped from the export-licence template (the
# bureau's seal, fog on screen, a QR code for the verification page, a watermark) and signed.
build/bin/eseal stamp samples/licence.pdf out/licence-sealed.pdf \
    --template templates/export-licence.json \
    --key build/demo/pki/rsa2048.key --cert build/demo/pki/rsa2048.pem \
    --chain build/demo/pki/chain.pem --qr-key build/demo/pki/ec256.key \
    --set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31
echo
echo "The sealed licence is $(pwd)/out/licence-sealed.pdf"
echo "On screen the seal is fogged; printed, it is crisp. pdfsig says:"
pdfsig out/licence-sealed.pdf
echo "Its QR code says:"
pdftoppm -r 150 -png -singlefile out/licence-sealed.pdf out/licence-sealed
zbarimg --raw -q -Sdisable -Sqrcode.enable -Sbinary --nodbus out/licence-sealed.png
echo
