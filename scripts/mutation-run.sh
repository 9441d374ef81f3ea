#!/usr/bin/env bash
# Mutation testing of the election core against the deterministic simulator
# (issue "Safety in every interleaving", point 4): each patch in
# tests/sim/mutants/ breaks the recipe (or the client adapter's filter, in the
# simulator's copy) in one known way: a fix of the issue reverted, or a
# classic mistake of the ZooKeeper recipe. For each, the
# simulator runs seeds from 1 with the recipe's own invariant checks off, so
# that the checks of design §7 must find the mutant, and the script prints
# the first failing seed and the simulated time to it, as a Markdown table.
#
#   scripts/mutation-run.sh                       # every mutant, up to 2000 seeds each
#   scripts/mutation-run.sh --seeds 500 claim-without-owner-check
#
# Works on a scratch copy of the tree (in $TMPDIR), never on yours. Exit
# status: 0 when every mutant was found, 1 when one survived or did not apply.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seeds=2000
events=20000
mutants=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "mutation-run.sh: unknown option $1" >&2; exit 2 ;;
    *) mutants+=("$1"); shift ;;
  esac
done
if [[ ${#mutants[@]} -eq 0 ]]; then
  for patch in "${repo_root}"/tests/sim/mutants/*.patch; do
    mutants+=("$(basename "${patch}" .patch)")
  done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/zkelect-mutants.XXXXXX")
trap 'rm -rf "${scratch}"' EXIT
# The tree as it is now (uncommitted changes included), without build output.
tar -C "${repo_root}" --exclude=./build --exclude=./.git -cf - . | tar -C "${scratch}" -xf -
cd "${scratch}"
cmake --preset release -DZKELECT_TEST_LABELS='^sim$' >/dev/null
sim=build/release/tests/sim/zkelect_sim
cmake --build build/release --target zkelect_sim >/dev/null
if ! "${sim}" --seed 1 --seeds 50 --events "${events}" --quiet >/dev/null; then
  echo "mutation-run.sh: the unmutated recipe fails the simulator; fix that first" >&2
  exit 1
fi

status=0
echo "| mutant | first failing seed | simulation until then | what the simulator saw |"
echo "|---|---|---|---|"
for name in "${mutants[@]}"; do
  patch="${repo_root}/tests/sim/mutants/${name}.patch"
  if ! patch -s -p1 --dry-run <"${patch}" >/dev/null 2>&1 || ! patch -s -p1 <"${patch}"; then
    echo "| ${name} | - | - | the patch does not apply: update it |"
    status=1
    continue
  fi
  if ! cmake --build build/release --target zkelect_sim >/dev/null 2>&1; then
    echo "| ${name} | - | - | the mutant does not compile: update it |"
    status=1
  else
    out=$("${sim}" --seed 1 --seeds "${seeds}" --events "${events}" --quiet --no-recipe-invariants 2>&1) &&
      rc=0 || rc=$?
    failure=$(grep -m1 -E '^seed [0-9]+ ' <<<"${out}" || true)
    first=$(grep -m1 -E '^first violation: ' <<<"${out}" || true)
    if [[ -z ${first} && ${rc} -ge 128 ]]; then
      echo "| ${name} | - | - | the simulator crashed (signal $((rc - 128))) |"
    elif [[ -z ${first} ]]; then
      echo "| ${name} | none in ${seeds} seeds | $(tail -n1 <<<"${out}" | sed -E 's/ simulated.*//') simulated | survived |"
      status=1
    else
      # "first violation: seed S (invariant I), after E events and T s simulated over N seed(s)"
      seed=$(sed -E 's/^first violation: seed ([0-9]+) .*/\1/' <<<"${first}")
      taken=$(sed -E 's/.*after ([0-9]+) events and ([0-9.]+) s simulated over ([0-9]+) seed.*/\3 seed(s), \2 s (\1 events)/' <<<"${first}")
      what=$(sed -E 's/^seed [0-9]+ \([0-9]+ daemons\): //; s/\|/\\|/g' <<<"${failure}" | cut -c1-150)
      echo "| ${name} | ${seed} | ${taken} | ${what} |"
    fi
  fi
  patch -s -R -p1 <"${patch}"
done
exit "${status}"
