#!/usr/bin/env bash
# Regression test of finding 12 of the operations review: scripts/test.sh
# orphaned its background builds. Its EXIT trap killed only the builder's
# subshell, so after a CI timeout or Ctrl-C the `cmake --build` it had
# started (and ninja and the compilers under it) kept running.
#
# Runs the real scripts/test.sh in a scratch copy of the repository with a
# stub install-deps.sh and fake `cmake` and `ctest` first on PATH: the fake
# background build starts a `sleep` and records its process ids; the fake
# ctest waits. SIGTERM to test.sh alone (what a CI runner's timeout sends)
# must leave none of the build's processes behind.
#
#   test_sh_builder_test.sh REPO_ROOT
set -euo pipefail

repo_root=$(cd "$1" && pwd)
work=$(mktemp -d)
leftovers=()
cleanup() {
  local pid
  for pid in "${leftovers[@]}"; do kill -KILL "${pid}" 2>/dev/null || true; done
  rm -rf "${work}"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# The scratch repository: the real test.sh, a stub install-deps.sh.
mkdir -p "${work}/repo/scripts" "${work}/bin"
cp "${repo_root}/scripts/test.sh" "${work}/repo/scripts/test.sh"
printf '#!/bin/sh\nexit 0\n' >"${work}/repo/scripts/install-deps.sh"

# Fake cmake: configuring succeeds at once; `cmake --build --preset second`
# (the background build) runs a child and records both process ids.
cat >"${work}/bin/cmake" <<EOF
#!/usr/bin/env bash
if [[ "\$*" == *"--build --preset second"* ]]; then
  sleep 600 &
  echo "\$\$ \$!" >"${work}/build.pids"
  wait
fi
exit 0
EOF
# Fake ctest: the first preset's tests, still running when the timeout comes.
cat >"${work}/bin/ctest" <<EOF
#!/usr/bin/env bash
echo "\$\$" >"${work}/ctest.pid"
exec sleep 600
EOF
chmod +x "${work}/bin/cmake" "${work}/bin/ctest"

PATH="${work}/bin:${PATH}" ZKELECT_PRESETS="first second" \
  setsid bash "${work}/repo/scripts/test.sh" >"${work}/test.log" 2>&1 &
test_sh=$!

# Until the background build runs and the foreground tests wait (60 s).
for _ in $(seq 1 600); do
  [[ -s ${work}/build.pids && -s ${work}/ctest.pid ]] && break
  kill -0 "${test_sh}" 2>/dev/null || break
  sleep 0.1
done
[[ -s ${work}/build.pids && -s ${work}/ctest.pid ]] || {
  cat "${work}/test.log" >&2
  fail "test.sh did not start its background build within 60 s"
}
read -r -a build_pids <"${work}/build.pids"
leftovers=("${build_pids[@]}" "$(cat "${work}/ctest.pid")")
echo "background build: cmake ${build_pids[0]}, its child ${build_pids[1]}"

kill -TERM "${test_sh}"
# test.sh exits once its foreground ctest does, as under a real timeout.
kill -TERM "$(cat "${work}/ctest.pid")" 2>/dev/null || true
for _ in $(seq 1 300); do
  kill -0 "${test_sh}" 2>/dev/null || break
  sleep 0.1
done
kill -0 "${test_sh}" 2>/dev/null && fail "test.sh still running 30 s after SIGTERM"

# The build's processes go within 10 s.
alive=()
for _ in $(seq 1 100); do
  alive=()
  for pid in "${build_pids[@]}"; do
    kill -0 "${pid}" 2>/dev/null && alive+=("${pid}")
  done
  [[ ${#alive[@]} -eq 0 ]] && break
  sleep 0.1
done
if [[ ${#alive[@]} -ne 0 ]]; then
  ps -o pid,pgid,args -p "$(
    IFS=,
    echo "${alive[*]}"
  )" >&2 || true
  fail "the background build outlived test.sh: ${alive[*]} still running"
fi
echo "PASSED: no process of the background build is left"
