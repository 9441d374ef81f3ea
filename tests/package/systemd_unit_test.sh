#!/usr/bin/env bash
# The in_box scripts are single-quoted on purpose: they expand in the container.
# shellcheck disable=SC2016
#
# Boots systemd as PID 1 in a container with the Debian package installed
# (issue 18, point 1), beside a ZooKeeper (a sibling container sharing the
# network namespace), and checks the unit as an operator meets it:
#   - `systemctl start zkelect` returns once the daemon has registered
#     (Type=notify, READY=1): /readyz answers yes at once;
#   - `systemctl status` shows the role line (STATUS=);
#   - `systemctl stop` ends with exit status 0 and leaves no candidate node;
#   - a SIGSTOPped daemon misses its watchdog pings: systemd kills it
#     (WatchdogSec=) and starts it again;
#   - a configuration error (exit 2) is not restarted
#     (RestartPreventExitStatus=2);
# and prints `systemd-analyze security zkelect` (recorded in
# docs/operations.md). Reload (SIGHUP) is not covered.
#
#   systemd_unit_test.sh BUILD_DIR
#
# Exits 77 (CTest: skipped) when no container engine is found.
set -euo pipefail

build_dir=$(cd "$1" && pwd)
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/container.sh
source "${repo_root}/scripts/lib/container.sh"

if ! container_engine_find; then
  echo "SKIPPED: no container engine (set ZKELECT_CONTAINER_ENGINE, or install podman)"
  exit 77
fi

started=${SECONDS}
phase() { printf 'systemd_unit_test: [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  echo "FAILED: $*" >&2
  in_box 'journalctl -u zkelect --no-pager -n 30' >&2 || true
  exit 1
}

work=$(mktemp -d)
name=zkelect-sdtest-$$
election=/sdtest
cleanup() {
  local container
  for container in "${name}-box" "${name}-zk"; do
    podman_cmd rm -f -t 0 "${container}" >/dev/null 2>&1 || true
  done
  rm -rf "${work}"
}
trap cleanup EXIT

in_box() {
  podman_cmd exec -i "${name}-box" bash -euo pipefail -c "$1"
}

# await DESCRIPTION SECONDS SCRIPT: until SCRIPT succeeds in the box, or fails the test.
await() {
  local what=$1 seconds=$2 script=$3
  local deadline=$((SECONDS + seconds))
  until in_box "${script}" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "${what}: not within ${seconds}s"
    sleep 0.5
  done
}

unit_property() {
  in_box "systemctl show --value -p $1 zkelect"
}

# The election's children, as ZooKeeper lists them ("[]": none).
candidates() {
  podman_cmd exec "${name}-zk" /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:2181 \
    ls "${election}" 2>/dev/null | tail -n 1
}

phase "images: ${ZKELECT_BASE_IMAGE}, ${ZOOKEEPER_IMAGE}, systemd with this build's package"
container_base_ready
build_zookeeper_image
cpack --config "${build_dir}/CPackConfig.cmake" -G DEB -B "${work}/deb" >/dev/null
build_image_from_deb "$(ls "${work}"/deb/zkelect_*.deb)" "${repo_root}/tests/package/systemd/Containerfile.deb"
echo "image: ${deb_image}"

phase "booting systemd beside ZooKeeper"
podman_cmd run -d --name "${name}-zk" -e ZOO_ADMINSERVER_ENABLED=false "${ZOOKEEPER_IMAGE}" >/dev/null
# --privileged: the unit's sandbox (mount namespaces, PrivateDevices=, ...)
# needs what systemd needs on a host.
podman_cmd run -d --name "${name}-box" --network "container:${name}-zk" --privileged \
  --systemd=always "${deb_image}" >/dev/null
await "systemd running" 120 '[[ $(systemctl is-system-running) =~ ^(running|degraded)$ ]]'
# The ZooKeeper address and election as an operator's drop-in gives them.
in_box "mkdir -p /etc/systemd/system/zkelect.service.d
  printf '[Service]\nEnvironment=ZKELECT_ZK_SERVERS=127.0.0.1:2181 ZKELECT_ELECTION_PATH=${election} ZKELECT_ID=sdtest\n' \
    >/etc/systemd/system/zkelect.service.d/test.conf
  systemctl daemon-reload"
await "ZooKeeper answering" 120 'exec 3<>/dev/tcp/127.0.0.1/2181'

phase "systemctl start returns once registered"
in_box 'systemctl start zkelect'
in_box 'zkelect check ready' || fail "systemctl start returned before /readyz said ready"
echo "candidates right after start: $(candidates)"
[[ $(candidates) == *latch* ]] || fail "no candidate node under ${election} right after systemctl start"

phase "systemctl status shows the role"
await "the leader role in systemctl status" 30 'systemctl status zkelect --no-pager | grep -q "Status: \"role leader"'
in_box 'systemctl status zkelect --no-pager | grep "Status:"'

phase "systemctl stop: exit status 0, no node left"
in_box 'systemctl stop zkelect'
status=$(unit_property ExecMainStatus)
result=$(unit_property Result)
echo "ExecMainStatus=${status} Result=${result}"
[[ ${status} == 0 && ${result} == success ]] || fail "expected exit status 0 and Result=success"
[[ $(candidates) == "[]" ]] || fail "a node is left under ${election}: $(candidates)"
echo "candidates after stop: $(candidates)"

phase "the watchdog restarts a SIGSTOPped daemon"
in_box 'systemctl start zkelect'
stopped_pid=$(unit_property MainPID)
in_box "kill -STOP ${stopped_pid}"
await "a new main process after the watchdog (WatchdogSec=10s)" 120 \
  "pid=\$(systemctl show --value -p MainPID zkelect)
   [[ \${pid} != 0 && \${pid} != ${stopped_pid} ]] && zkelect check ready"
echo "main process ${stopped_pid} -> $(unit_property MainPID), NRestarts=$(unit_property NRestarts)"
in_box 'journalctl -u zkelect --no-pager | grep -i "watchdog timeout"' ||
  fail "the journal does not say the watchdog killed it"

phase "a configuration error (exit 2) is not restarted"
in_box 'systemctl stop zkelect
  printf "[Service]\nEnvironment=ZKELECT_ZK_SESSION_TIMEOUT=banana\n" \
    >/etc/systemd/system/zkelect.service.d/broken.conf
  systemctl daemon-reload
  systemctl reset-failed zkelect 2>/dev/null || true'
in_box 'systemctl start zkelect' && fail "systemctl start succeeded with a broken configuration"
await "the unit failed" 30 '[[ $(systemctl is-active zkelect) == failed ]]'
sleep 5 # RestartSec=2s: a restart, if any, would have happened by now.
status=$(unit_property ExecMainStatus)
restarts=$(unit_property NRestarts)
echo "ExecMainStatus=${status} NRestarts=${restarts} ActiveState=$(unit_property ActiveState)"
[[ ${status} == 2 && ${restarts} == 0 ]] || fail "expected exit status 2 and no restart"

phase "systemd-analyze security zkelect"
in_box 'systemd-analyze security zkelect --no-pager' | tail -n 1
phase "PASSED"
