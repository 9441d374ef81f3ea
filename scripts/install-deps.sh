#!/usr/bin/env bash
# Installs, from Debian 12's apt archive, everything needed to build zkelect
# and to run all of its tests (a real ZooKeeper included). Idempotent: apt
# skips what is already installed. Runs as root, or through sudo when
# available.
#
#   scripts/install-deps.sh           # build and test
#   scripts/install-deps.sh --build   # build only (the container image's build stage)
#   scripts/install-deps.sh --bench   # what bench/run-all needs on top (not CI)
set -euo pipefail

build_packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config
  # cpack -G DEB: dpkg-shlibdeps (dpkg-dev, from build-essential) needs file
  file
  # libraries zkelect links against
  libzookeeper-mt-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
)

test_packages=(
  libgtest-dev
  # the libFuzzer targets of fuzz/ (clang; libclang-rt holds libFuzzer and
  # the sanitizer runtimes)
  clang-14 libclang-rt-14-dev
  # a real ZooKeeper for the integration tests and the demo (Java)
  zookeeper default-jre-headless
  # tools the scripts use
  curl procps iproute2 ca-certificates
  # the fault-injection harness (tests/faults): Python 3 and nftables for partitions
  python3 nftables
  # systemd-analyze, to verify the unit file
  systemd
  # YAML parser for the Kubernetes manifest test
  python3 python3-yaml
  # the package test of Debian's checks: lintian, hardening-check
  # (devscripts) and man (man-db) for zkelect(8)
  lintian devscripts man-db
  # promtool: checks /metrics (the exposition format) and unit-tests the alert
  # rules of docs/alerts.yaml
  prometheus
  # the client examples' tests (examples/): Go, Node.js and a JDK (javac, for
  # `java LeaderWorker.java`); Python 3 and curl are above
  golang-go nodejs default-jdk-headless
  # Apache Curator (its LeaderLatch, with the JDK above to compile the peer)
  # for the integration test of mixed elections, Curator and zkelect in one
  # election (tests/integration/mixed_election_test.cc)
  libcurator-recipes-java
  # the status page's browser test: headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
  # the container tests (label container): podman with runc (crun cannot run
  # on a cgroup v1/hybrid host), netavark for pod networks, catatonit for the
  # pods' pause image, and debootstrap, which makes the debian:bookworm-slim
  # base image locally when it cannot be pulled (scripts/lib/container.sh).
  # Debian's podman only suggests iptables, and recommends are not installed
  # here: without it netavark fails every bridge network ("netavark: No such
  # file or directory (os error 2)"). aardvark-dns resolves container names on
  # a network (docker/compose.yaml's zoo1, zoo2, ... in scripts/compose-demo.sh).
  podman runc netavark catatonit debootstrap iptables aardvark-dns
)

# The peers the benchmarks measure zkelect against (Curator with a JDK to
# compile its participant, kazoo, etcd), the load tools (wrk, nginx as the
# static-file ceiling), what builds the bench's static C tools, and tcpdump
# for bench/handoff-trace.
bench_packages=(
  libcurator-recipes-java default-jdk-headless python3-kazoo etcd-server etcd-client
  wrk nginx-light
  gcc libc6-dev python3
  tcpdump
)

case "${1:-}" in
  --build) packages=("${build_packages[@]}") ;;
  --bench) packages=("${bench_packages[@]}") ;;
  "") packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  *)
    echo "install-deps.sh: unknown argument '$1': expected --build, --bench or nothing" >&2
    exit 2
    ;;
esac

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
