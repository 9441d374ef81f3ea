#!/usr/bin/env bash
# The build a packager or a user runs without the presets (issue 18, point
# 3), on this machine's compiler:
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --target zkelect
# must succeed, and must print no compiler warning (the presets make warnings
# errors; this build does not, so a warning here would go unseen). GCC 12's
# false -Wrestrict in libstdc++, inlined into HealthMonitor::ParseHttpTarget
# at -O3, failed this build.
#
#   packager_build_test.sh SOURCE_DIR
set -euo pipefail

source_dir=$1
build_dir=$(mktemp -d)
trap 'rm -rf "${build_dir}"' EXIT

log="${build_dir}/build.log"
if ! { cmake -S "${source_dir}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "${build_dir}" --target zkelect --parallel "$(nproc)"; } >"${log}" 2>&1; then
  cat "${log}"
  echo "FAILED: the plain Release build (cmake -DCMAKE_BUILD_TYPE=Release) failed" >&2
  exit 1
fi
if grep -q "warning:" "${log}"; then
  cat "${log}"
  echo "FAILED: the plain Release build printed compiler warnings (above, with where they were inlined from)" >&2
  exit 1
fi
echo "the plain Release build of zkelect succeeded without warnings"
