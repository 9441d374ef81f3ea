#!/usr/bin/env bash
# Installs what is needed (apt), then for each preset builds zkelect with its
# tests and runs that preset's share of the tests. Exits non-zero if any
# build or test of any preset fails (the other presets still run, so one
# run shows every failure). Prints the time of every stage and a summary.
#
#   scripts/test.sh                                  # what CI runs: release fuzz debug tsan
#   ZKELECT_PRESETS=release scripts/test.sh          # one preset (every test)
#   ZKELECT_CTEST_ARGS="-R Election" scripts/test.sh # extra ctest arguments
#   ZKELECT_LABELS_debug="unit" scripts/test.sh      # labels of one preset
#   ZKELECT_EXCLUDED_LABELS_release="" ...           # labels it leaves out
#
# Presets and the tests they run by default (ctest label selection):
#   release  every test but the integration suite (the sanitizer presets run
#            that twice): unit, smoke, faults, browser, package, container
#            (alone, ZKELECT_PRESETS=release runs everything)
#   fuzz     the libFuzzer targets (label fuzz), ZKELECT_FUZZ_SECONDS each
#   debug    ASan+UBSan: unit and integration
#   tsan     ThreadSanitizer: unit and integration
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${repo_root}"

# Labels run by each preset, overridable by ZKELECT_LABELS_<preset> (a
# regex for ctest -L; empty: every test).
default_labels() {
  case "$1" in
    release) echo "" ;;
    fuzz) echo "^fuzz$" ;;
    *) echo "^(unit|integration)$" ;;
  esac
}

# Labels a preset leaves out (ctest -LE): the release preset skips the
# integration suite when a sanitizer preset runs it in the same call.
default_excluded_labels() {
  if [[ $1 == release && " ${presets[*]} " =~ \ (debug|tsan)\  ]]; then
    echo "^integration$"
  fi
}

read -r -a presets <<<"${ZKELECT_PRESETS:-release fuzz debug tsan}"
read -r -a ctest_args <<<"${ZKELECT_CTEST_ARGS:-}"
jobs=$(nproc 2>/dev/null || echo 2)

summary=()
failed=()
# stage <name> <command...>: runs one stage, records its time and outcome.
stage() {
  local name=$1
  shift
  echo "===== test.sh: ${name} ====="
  local start=${SECONDS} status=0
  "$@" || status=$?
  local took=$((SECONDS - start))
  local outcome=ok
  if [[ ${status} -ne 0 ]]; then
    outcome="FAILED (exit ${status})"
    failed+=("${name}")
  fi
  summary+=("$(printf '%-28s %4dm%02ds  %s' "${name}" $((took / 60)) $((took % 60)) "${outcome}")")
  echo "===== test.sh: ${name}: ${outcome} after ${took}s ====="
  return "${status}"
}

build() {
  local preset=$1
  local configure_args=()
  [[ ${preset} == fuzz ]] && configure_args=(-DZKELECT_FUZZ_SECONDS="${ZKELECT_FUZZ_SECONDS:-20}")
  cmake --preset "${preset}" "${configure_args[@]}" &&
    cmake --build --preset "${preset}" --parallel "${jobs}"
}

run_tests() {
  local preset=$1
  local labels_var="ZKELECT_LABELS_${preset}"
  local labels=${!labels_var-$(default_labels "${preset}")}
  local excluded_var="ZKELECT_EXCLUDED_LABELS_${preset}"
  local excluded=${!excluded_var-$(default_excluded_labels "${preset}")}
  local label_args=()
  [[ -n ${labels} ]] && label_args+=(-L "${labels}")
  [[ -n ${excluded} ]] && label_args+=(-LE "${excluded}")
  # Fuzzers run side by side (each is one process for a fixed time). The
  # other tests run one at a time: the integration tests assert deadlines
  # (handoff within 1 s, long-poll within 100 ms).
  local parallel=1
  [[ ${preset} == fuzz ]] && parallel=${jobs}
  ctest --preset "${preset}" --parallel "${parallel}" --output-on-failure \
    "${label_args[@]}" "${ctest_args[@]}"
}

total_start=${SECONDS}
stage "install-deps" bash "${repo_root}/scripts/install-deps.sh" || exit 1
for preset in "${presets[@]}"; do
  stage "${preset}: build" build "${preset}" || continue
  stage "${preset}: test" run_tests "${preset}" || true
done
total=$((SECONDS - total_start))

echo "===== test.sh: summary ====="
printf '%s\n' "${summary[@]}"
printf '%-28s %4dm%02ds\n' "total" $((total / 60)) $((total % 60))
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all stages passed for preset(s): ${presets[*]}"
