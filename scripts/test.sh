#!/usr/bin/env bash
# Installs what is needed (apt), builds zkelect with its tests, and runs every
# test: unit, integration (a real 3-server ZooKeeper ensemble and real zkelect
# processes) and the smoke tests of the binary. Exits non-zero if anything
# fails.
#
#   scripts/test.sh                                  # preset "release"
#   ZKELECT_PRESETS="release debug tsan" scripts/test.sh
#   ZKELECT_CTEST_ARGS="-L unit" scripts/test.sh     # extra ctest arguments
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${repo_root}"

bash "${repo_root}/scripts/install-deps.sh"

read -r -a presets <<<"${ZKELECT_PRESETS:-release}"
read -r -a ctest_args <<<"${ZKELECT_CTEST_ARGS:-}"
jobs=$(nproc 2>/dev/null || echo 2)

failed=()
for preset in "${presets[@]}"; do
  echo "===== test.sh: preset ${preset}: configure and build ====="
  cmake --preset "${preset}"
  cmake --build --preset "${preset}" --parallel "${jobs}"
  echo "===== test.sh: preset ${preset}: ctest ====="
  # Serial on purpose: the integration tests assert timings (handoff within
  # 1 s, long-poll within 100 ms), and they share the machine with nothing.
  if ! ctest --preset "${preset}" --output-on-failure "${ctest_args[@]}"; then
    failed+=("${preset}")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: FAILED for preset(s): ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all tests passed for preset(s): ${presets[*]}"
