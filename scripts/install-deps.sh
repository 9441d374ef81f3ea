#!/usr/bin/env bash
# Installs, from Debian 12's apt archive, everything needed to build zkelect
# and to run all of its tests (a real ZooKeeper included). Idempotent: apt
# skips what is already installed. Runs as root, or through sudo when
# available.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config
  # libraries zkelect links against
  libzookeeper-mt-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  # tests
  libgtest-dev
  # the libFuzzer targets of fuzz/ (clang; libclang-rt holds libFuzzer and
  # the sanitizer runtimes)
  clang-14 libclang-rt-14-dev
  # a real ZooKeeper for the integration tests and the demo (Java)
  zookeeper default-jre-headless
  # tools the scripts use
  curl procps iproute2 ca-certificates
  # systemd-analyze, to verify the unit file
  systemd
)

if [[ ${EUID} -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps.sh: run as root (or install sudo): apt-get needs root" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
apt_get=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
"${apt_get[@]}" update
"${apt_get[@]}" install -y --no-install-recommends "${missing[@]}"
