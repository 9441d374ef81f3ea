#!/usr/bin/env bash
# Installs what is needed (apt), then for each preset builds zkelect with its
# tests and runs that preset's share of the tests. Exits non-zero if any
# build or test of any preset fails (the other presets still run, so one
# run shows every failure). Prints the time of every stage and a summary.
#
#   scripts/test.sh                                  # what CI runs: release debug tsan fuzz
#   ZKELECT_PRESETS=release scripts/test.sh          # one preset (every test)
#   ZKELECT_CTEST_ARGS="-R Election" scripts/test.sh # extra ctest arguments
#   ZKELECT_LABELS_debug="unit" scripts/test.sh      # labels of one preset
#   ZKELECT_EXCLUDED_LABELS_release="" ...           # labels it leaves out
#   ZKELECT_OVERLAP_BUILDS=0 scripts/test.sh         # build, then test, preset by preset
#
# By default the builds overlap the tests: once the first preset is built, a
# background builder compiles the others in order at the lowest CPU priority
# (nice 19) while the earlier presets' tests run, and at the normal priority
# while the foreground only waits for it. The niced compiler gets
# what the tests leave idle (they mostly wait on ZooKeeper, timers and the
# fault schedule), and a test thread that wakes up takes a core from it at
# once. So the debug (ASan) tests run while the tsan build finishes, and the
# tsan tests while the fuzzers build. The fuzzers run last: they keep both
# cores busy for ZKELECT_FUZZ_SECONDS and need no quiet machine, and a build
# waiting behind them would only wait. Deadlines that a
# sanitizer's slowdown could break are relaxed in sanitized builds
# (HttpAbuseTest's 100 ms probe bound measured 255 ms under ASan with the
# tsan build beside it; it is 5 s there). A background build stage is timed
# from its start to its end, so stage times overlap; `total` is wall time.
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

read -r -a presets <<<"${ZKELECT_PRESETS:-release debug tsan fuzz}"
read -r -a ctest_args <<<"${ZKELECT_CTEST_ARGS:-}"
jobs=$(nproc 2>/dev/null || echo 2)

summary=()
failed=()
# record <name> <status> <seconds>: records the time and outcome of a stage.
record() {
  local name=$1 status=$2 took=$3
  local outcome=ok
  if [[ ${status} -ne 0 ]]; then
    outcome="FAILED (exit ${status})"
    failed+=("${name}")
  fi
  summary+=("$(printf '%-28s %4dm%02ds  %s' "${name}" $((took / 60)) $((took % 60)) "${outcome}")")
  echo "===== test.sh: ${name}: ${outcome} after ${took}s ====="
}

# stage <name> <command...>: runs one stage, records its time and outcome.
stage() {
  local name=$1
  shift
  echo "===== test.sh: ${name} ====="
  local start=${SECONDS} status=0
  "$@" || status=$?
  record "${name}" "${status}" $((SECONDS - start))
  return "${status}"
}

# label_selection <preset>: sets `labels` and `excluded`, the ctest label
# regexes (-L, -LE; empty: no filter) of the tests <preset> runs.
label_selection() {
  local preset=$1
  local labels_var="ZKELECT_LABELS_${preset}"
  labels=${!labels_var-$(default_labels "${preset}")}
  local excluded_var="ZKELECT_EXCLUDED_LABELS_${preset}"
  excluded=${!excluded_var-$(default_excluded_labels "${preset}")}
}

build() {
  local preset=$1
  local labels excluded
  label_selection "${preset}"
  # A preset builds the test programs of the labels it runs, no others.
  local configure_args=(-DZKELECT_TEST_LABELS="${labels}" -DZKELECT_TEST_EXCLUDED_LABELS="${excluded}")
  # The unit tests run as one process (cmake/BuildSpeed.cmake), unless the
  # caller picks tests by name, which needs one CTest entry per test.
  local one_process=ON
  [[ -n ${ZKELECT_CTEST_ARGS:-} ]] && one_process=OFF
  configure_args+=(-DZKELECT_UNIT_TESTS_IN_ONE_PROCESS="${one_process}")
  [[ ${preset} == fuzz ]] && configure_args=(-DZKELECT_FUZZ_SECONDS="${ZKELECT_FUZZ_SECONDS:-20}")
  cmake --preset "${preset}" "${configure_args[@]}" &&
    cmake --build --preset "${preset}" --parallel "${jobs}"
}

run_tests() {
  local preset=$1
  local labels excluded
  label_selection "${preset}"
  local label_args=()
  [[ -n ${labels} ]] && label_args+=(-L "${labels}")
  [[ -n ${excluded} ]] && label_args+=(-LE "${excluded}")
  # Fuzzers run side by side (each is one process for a fixed time). The
  # other tests run one at a time: the integration tests assert deadlines
  # (handoff within 1 s, long-poll within 100 ms).
  local parallel=1
  [[ ${preset} == fuzz ]] && parallel=${jobs}
  local output status=0
  output=$(mktemp)
  ctest --preset "${preset}" --parallel "${parallel}" --output-on-failure \
    "${label_args[@]}" "${ctest_args[@]}" 2>&1 | tee "${output}" || status=$?
  note_skipped "${preset}" "${output}"
  rm -f "${output}"
  return "${status}"
}

# note_skipped <preset> <ctest output>: adds each test ctest skipped to
# `skipped`, with the reason it printed (a line starting with "SKIPPED:", as
# the container tests print when they find no engine), for the summary.
skipped=()
note_skipped() {
  local preset=$1 output=$2 name reason
  local log="${repo_root}/build/${preset}/Testing/Temporary/LastTest.log"
  while read -r name; do
    reason=$(awk -v test="${name}" '/^[0-9]+\/[0-9]+ Testing: / { current = $3 }
      current == test && /^SKIPPED/ { print; exit }' "${log}" 2>/dev/null)
    skipped+=("$(printf '%-28s %s' "${preset}: ${name}" "${reason:-skipped, no reason printed (see ${log})}")")
  done < <(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "${output}")
}

# background_builder <preset>...: builds the given presets in order, at
# nice 19. For each it writes <builds>/<preset>.log (the output), then
# <builds>/<preset>.done ("<exit status> <seconds>").
builds=""
builder_pid=""
background_builder() {
  renice -n 19 -p "${BASHPID}" >/dev/null
  local preset start status
  for preset in "$@"; do
    start=${SECONDS}
    status=0
    build "${preset}" >"${builds}/${preset}.log" 2>&1 || status=$?
    echo "${status} $((SECONDS - start))" >"${builds}/${preset}.done"
  done
}

# builder_priority <nice>: sets the niceness of the background builder and
# of every process under it (ninja starts each compiler in a process group of
# its own, so the group of the builder does not reach them; later ones
# inherit ninja's).
builder_priority() {
  local all=() parents=("${builder_pid}")
  while ((${#parents[@]} > 0)) && ((${#all[@]} < 1000)); do
    all+=("${parents[@]}")
    mapfile -t parents < <(ps -o pid= --ppid "$(IFS=,; echo "${parents[*]}")" 2>/dev/null |
      tr -d ' ')
  done
  renice -n "$1" -p "${all[@]}" >/dev/null 2>&1 || true
}

# await_build <preset>: waits until the background builder is done with
# <preset> (at most 2 hours), shows its output and records its stage.
await_build() {
  local preset=$1
  local name="${preset}: build"
  echo "===== test.sh: ${name} (in the background, nice 19) ====="
  # Nothing runs in the foreground while we wait: the build gets the normal
  # priority meanwhile. At nice 19 on a machine kept busy by others, it
  # would get a hundredth of a core and take hours (seen with two busy
  # loops beside CI). Raising a priority needs root, as CI is; elsewhere the
  # build just stays niced.
  builder_priority 0
  local waited=0
  while [[ ! -e ${builds}/${preset}.done ]] && kill -0 "${builder_pid}" 2>/dev/null &&
    ((waited < 7200)); do
    sleep 1
    waited=$((waited + 1))
  done
  builder_priority 19  # the tests of this preset run now
  cat "${builds}/${preset}.log" 2>/dev/null || true
  local status=1 took=${waited}
  [[ -e ${builds}/${preset}.done ]] && read -r status took <"${builds}/${preset}.done"
  record "${name}" "${status}" "${took}"
  return "${status}"
}

# On exit: stops the builder if still running (an interrupted run), with
# the builds it started: the builder leads a process group of its own, and
# ninja passes the SIGTERM on to the compilers it started.
stop_builder() {
  if [[ -n ${builder_pid} ]]; then kill -TERM -- "-${builder_pid}" 2>/dev/null || true; fi
  if [[ -n ${builds} ]]; then rm -rf "${builds}"; fi
}

total_start=${SECONDS}
stage "install-deps" bash "${repo_root}/scripts/install-deps.sh" || exit 1
if [[ ${ZKELECT_OVERLAP_BUILDS:-1} == 1 ]]; then
  # The first preset builds in the foreground (nothing to overlap yet, and
  # at full priority), the others in the background from then on.
  first_built=0
  stage "${presets[0]}: build" build "${presets[0]}" && first_built=1
  builds=$(mktemp -d)
  trap stop_builder EXIT
  # Job control for this one job puts the builder in a process group of its
  # own (its id is the builder's pid), which stop_builder ends whole.
  set -m
  background_builder "${presets[@]:1}" &
  builder_pid=$!
  set +m
  for preset in "${presets[@]}"; do
    if [[ ${preset} == "${presets[0]}" ]]; then
      ((first_built)) || continue
    else
      await_build "${preset}" || continue
    fi
    stage "${preset}: test" run_tests "${preset}" || true
  done
  wait "${builder_pid}" || true
else
  for preset in "${presets[@]}"; do
    stage "${preset}: build" build "${preset}" || continue
    stage "${preset}: test" run_tests "${preset}" || true
  done
fi
total=$((SECONDS - total_start))

echo "===== test.sh: summary ====="
printf '%s\n' "${summary[@]}"
printf '%-28s %4dm%02ds\n' "total" $((total / 60)) $((total % 60))
if [[ ${#skipped[@]} -gt 0 ]]; then
  echo "skipped tests:"
  printf '%s\n' "${skipped[@]}"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all stages passed for preset(s): ${presets[*]}"
