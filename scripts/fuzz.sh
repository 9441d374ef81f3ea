#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (preset "fuzz": clang with
# ASan+UBSan) and fuzzes each parser for SECONDS (default 20), all at once,
# starting from the seed corpus in fuzz/corpus/<name>/. Exits non-zero if a
# fuzzer crashes or finds a violated property; the reproducer is then in
# build/fuzz/fuzz/artifacts/ (replay: build/fuzz/fuzz/<name>_fuzzer <file>).
# New interesting inputs collect in build/fuzz/fuzz/corpus/<name>/.
#
#   scripts/fuzz.sh          # 20 s per fuzzer, as in CI
#   scripts/fuzz.sh 3600     # a long run
set -euo pipefail

seconds=${1:-20}
if ! [[ ${seconds} =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds]   (seconds: a positive integer, got '${seconds}')" >&2
  exit 2
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmake --preset fuzz -DZKELECT_FUZZ_SECONDS="${seconds}"
cmake --build --preset fuzz --parallel "$(nproc)"
ctest --preset fuzz --parallel "$(nproc)"
