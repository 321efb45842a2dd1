#!/usr/bin/env bash
# The demo: installs and builds what is missing, then stands up three Erlang nodes on
# 127.0.0.2-4, each behind its own distls, clusters them over mutual TLS, prints the
# membership and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec python3 scripts/demo.py --build "${BUILD_DIR:-build}"
