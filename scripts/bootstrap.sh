#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks (apt-get), then configures and builds
# distls into ./build. Safe to run again: it installs nothing that is already there.
# Arguments go to CMake's configure step (scripts/test.sh: -DDISTLS_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build pkg-config python3 iproute2 curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libc-ares-dev libyaml-dev libgtest-dev libgmock-dev
  erlang-nox erlang-dev erlang-src
  rebar3 elixir
  dnsmasq-base stunnel4
  mmdebstrap python3-kubernetes
  clang-14 libclang-rt-14-dev llvm-14
  buildah mmdebstrap dpkg-dev prometheus python3-yaml
  # bench/: charts (--plot), the handshake client's openssl, profiles (--perf, --massif)
  python3-matplotlib openssl linux-perf valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian's prometheus starts a server on :9090; the tests want promtool, and start a
  # Prometheus of their own on loopback.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus.service || true
  fi
fi

BUILD_DIR=${BUILD_DIR:-build}
echo "==> building in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
