#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then build and run every ctest
# test twice: an optimised build with warnings as errors, and an AddressSanitizer +
# UndefinedBehaviorSanitizer build. Also checks the house style (clang-format).
# The shared corpus is found beside the checkout (../shared/corpus) or at $ESEAL_CORPUS.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)
corpus=()
[ -n "${ESEAL_CORPUS:-}" ] && corpus=(-DESEAL_CORPUS="$ESEAL_CORPUS")

echo "== style (clang-format)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

echo "== release build, warnings as errors"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DESEAL_WERROR=ON "${corpus[@]}" >/dev/null
cmake --build build-ci -j"$jobs"
(cd build-ci && ctest -j"$jobs" --output-on-failure)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DESEAL_WERROR=ON -DESEAL_SANITIZE=ON \
    "${corpus[@]}" >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j"$jobs" --output-on-failure)

echo "== all tests passed"
