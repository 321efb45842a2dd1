#!/usr/bin/env bash
# The whole test suite: installs and builds what is missing, then runs unit and
# integration tests (real erl nodes, real TLS) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cd "${BUILD_DIR:-build}"
exec ctest --output-on-failure --timeout 900 "$@"
