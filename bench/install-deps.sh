#!/usr/bin/env bash
# Installs, from Debian 12's apt archive, what bench/run-all needs beyond
# scripts/install-deps.sh (which builds and tests zkelect): the peers zkelect is
# measured against (Apache Curator with a JDK to compile its participant,
# kazoo, etcd) and the load tools (wrk, nginx as the static-file ceiling).
# Idempotent. Not run by CI: the benchmarks are not part of the test suite.
set -euo pipefail

packages=(
  # peers
  libcurator-recipes-java default-jdk-headless python3-kazoo etcd-server etcd-client
  # load and comparison
  wrk nginx-light
  # stamp and longpoll tools (static glibc comes with libc6-dev)
  gcc libc6-dev python3
)

if [[ ${EUID} -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "bench/install-deps.sh: run as root (or install sudo)" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "bench/install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "bench/install-deps.sh: installing ${missing[*]}"
apt_get=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
"${apt_get[@]}" update
"${apt_get[@]}" install -y --no-install-recommends "${missing[@]}"
# nginx-light's package starts the system service; the benchmark starts its own.
