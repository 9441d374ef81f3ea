#!/usr/bin/env bash
# Runs the fault-injection harness (tests/faults/harness.py) for any seed and
# duration against the release build, and prints the checker's summary.
# Needs root (network namespaces, nftables). Exit status: the harness's
# (0: no violation, 1: a violation or a harness error).
#
#   scripts/fault-run.sh --seed 7 --duration 30m [--out DIR] [harness options]
#
# Builds the release preset first (incremental) unless ZKELECT_FAULT_NO_BUILD=1.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${repo_root}"
build_dir="${repo_root}/build/release"

if [[ ${ZKELECT_FAULT_NO_BUILD:-0} != 1 ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target zkelect fault_hook_logger fault_zk_children
fi

exec python3 "${repo_root}/tests/faults/harness.py" \
  --zkelect "${build_dir}/zkelect" \
  --hook "${build_dir}/tests/faults/fault_hook_logger" \
  --zk-children "${build_dir}/tests/faults/fault_zk_children" \
  "$@"
