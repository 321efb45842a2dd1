#!/usr/bin/env bash
# The whole test suite: installs and builds what is missing, then runs unit and
# integration tests (real erl nodes, real TLS) through ctest.
#
# --slow: also the tests labelled `slow`: the container image, built with buildah and
# run (tests/integration/deploy/test_image.py; minutes when the tree changed, cached otherwise).
#
# --sanitized: the same suite built with Clang 14, ASan and UBSan into build-sanitize/
# ($SANITIZE_BUILD_DIR), integration tests against the sanitized distls, plus a short
# run of each fuzz target (docs/fuzzing.md). Any sanitizer finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Warnings are errors here (CI runs this), not in a user's build.
scripts/bootstrap.sh -DDISTLS_WERROR=ON
labels=(-LE slow)
if [ "${1:-}" = "--slow" ]; then
  shift
  labels=()
fi
if [ "${1:-}" = "--sanitized" ]; then
  shift
  dir=${SANITIZE_BUILD_DIR:-build-sanitize}
  echo "==> building the sanitized suite in $dir"
  # -O1: the sanitizers' recommended level, and a faster build. Warnings are the GCC
  # build's job; here Clang's own would only stop the run before the tests.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DDISTLS_FUZZ=ON -DDISTLS_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
  cd "$dir"
else
  cd "${BUILD_DIR:-build}"
fi
exec ctest --output-on-failure --timeout 900 "${labels[@]}" "$@"
