#!/usr/bin/env bash
# A must-refuse input is refused: non-zero exit, one line naming the cause, no output file.
source "$(dirname "$0")/../lib.sh"
name=$1 expect=$2
refused "$expect" "$tmp/out.pdf" "$ESEAL" sign "$CORPUS/inputs/$name" "$tmp/out.pdf" \
    --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem"
finish
