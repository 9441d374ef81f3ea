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
#   - a start hook works in the unit's sandbox with the README's drop-in
#     (ReadWritePaths=);
#   - `systemctl reload` applies a new log.level at once, with no role change
#     (same process, leader and epoch), and a reload with a bad value is
#     refused while the daemon runs on;
#   - maintenance survives `systemctl restart`: withdrawn, restarted, still
#     withdrawn with no node in the election (StateDirectory=zkelect);
#   - `systemctl stop` ends with exit status 0 and leaves no candidate node;
#   - a SIGSTOPped daemon misses its watchdog pings: systemd kills it
#     (WatchdogSec=) and starts it again;
#   - a configuration error (exit 2) is not restarted
#     (RestartPreventExitStatus=2);
# and prints `systemd-analyze security zkelect` (recorded in
# docs/operations.md).
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
  echo "SKIPPED: ${engine_missing}"
  exit 77
fi

started=${SECONDS}
phase() { printf 'systemd_unit_test: [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  echo "FAILED: $*" >&2
  in_box 'journalctl -u zkelect --no-pager -n 30' >&2 || true
  in_box 'zkelect status --json' >&2 || true
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

# await_no_candidates SECONDS WHEN: until the election has no children, or
# fails the test ("a node is left under ... WHEN").
await_no_candidates() {
  local deadline=$((SECONDS + $1))
  until [[ $(candidates) == "[]" ]]; do
    ((SECONDS < deadline)) || fail "a node is left under ${election} $2: $(candidates)"
    sleep 0.5
  done
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
# The ZooKeeper address, the election and a start hook as an operator's
# drop-in gives them, with the README's ReadWritePaths= for the hook (the
# packaged example promote writes /run/myapp/leader-epoch). /run/myapp is
# the application's directory: its own unit would make it.
in_box "mkdir -p /etc/systemd/system/zkelect.service.d
  install -d -o zkelect -g zkelect /run/myapp
  printf '[Service]\nEnvironment=ZKELECT_ZK_SERVERS=127.0.0.1:2181 ZKELECT_ELECTION_PATH=${election} ZKELECT_ID=sdtest\nEnvironment=ZKELECT_HOOKS_ON_START=/usr/share/zkelect/hooks/promote\nReadWritePaths=/run/myapp\n' \
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

phase "the start hook ran under the sandbox (ProtectSystem=strict, ReadWritePaths=)"
leader_before=$(in_box 'zkelect leader')
epoch=$(sed -n 's/.* epoch \([0-9]*\).*/\1/p' <<<"${leader_before}")
await "the promote hook's /run/myapp/leader-epoch" 60 "[[ \$(cat /run/myapp/leader-epoch) == ${epoch} ]]"
in_box 'journalctl -u zkelect --no-pager | grep "promoting"'
echo "/run/myapp/leader-epoch: $(in_box 'cat /run/myapp/leader-epoch') (leader: ${leader_before})"

phase "systemctl reload applies a new log level without a role change"
pid_before=$(unit_property MainPID)
# At the package's level (info) a request is not logged; at debug it is.
in_box 'cp /etc/zkelect/zkelect.toml /tmp/zkelect.toml.orig
  zkelect check live >/dev/null
  ! journalctl -u zkelect --no-pager | grep -q "HTTP GET /healthz"' ||
  fail "a request was logged at the package's log level (info)"
in_box 'printf "\n[log]\nlevel = \"debug\"\n" >>/etc/zkelect/zkelect.toml
  systemctl reload zkelect' || fail "systemctl reload zkelect failed"
await "'configuration reloaded ...: changed log.level' in the journal" 60 \
  'journalctl -u zkelect --no-pager | grep -q "configuration reloaded (generation [0-9]*): changed log.level"'
await "a request logged at the reloaded level (debug)" 60 \
  'zkelect check live >/dev/null; journalctl -u zkelect --no-pager | grep -q "HTTP GET /healthz"'
in_box 'journalctl -u zkelect --no-pager | grep -E "configuration reloaded|HTTP GET /healthz" | head -n 2'
# Same process, same leader and epoch: no new election, no role change.
[[ $(unit_property MainPID) == "${pid_before}" ]] || fail "the reload restarted the daemon"
[[ $(in_box 'zkelect leader') == "${leader_before}" ]] ||
  fail "the leader changed on reload: ${leader_before} -> $(in_box 'zkelect leader' || true)"
in_box 'zkelect check leader' >/dev/null || fail "no longer the leader after the reload"
echo "leader before and after the reload: ${leader_before}"

phase "a reload with a bad value is refused; the daemon runs on"
# `systemctl reload` itself succeeds (ExecReload= only sends SIGHUP): the
# refusal is in the journal and in GET /status.
in_box 'sed -i "s/^level = \"debug\"$/level = \"loud\"/" /etc/zkelect/zkelect.toml
  systemctl reload zkelect' || fail "systemctl reload zkelect failed"
await "'configuration reload refused: log.level' in the journal" 60 \
  'journalctl -u zkelect --no-pager | grep -q "configuration reload refused: log.level"'
in_box 'journalctl -u zkelect --no-pager | grep "configuration reload refused"'
# While the file is bad, the client commands refuse it too (they read
# http.listen from it through the daemon's loader): ask the socket directly.
bypass="--config '' --addr unix:/run/zkelect/api.sock"
await "the refused reload in GET /status" 30 "zkelect status --json ${bypass} | grep -q '\"result\":\"refused\"'"
[[ $(in_box 'systemctl is-active zkelect') == active && $(unit_property MainPID) == "${pid_before}" ]] ||
  fail "the daemon did not run on after a refused reload"
[[ $(in_box "zkelect leader ${bypass}") == "${leader_before}" ]] || fail "the leader changed on a refused reload"
in_box 'cp /tmp/zkelect.toml.orig /etc/zkelect/zkelect.toml'

phase "maintenance (zkelect withdraw) survives systemctl restart (StateDirectory=)"
in_box 'zkelect withdraw'
await_no_candidates 60 "after zkelect withdraw"
in_box 'ls -l /var/lib/zkelect'
# The restart returns at READY=1, which a daemon that rejoined sends only
# once its node is registered: no wait is needed to see one.
in_box 'systemctl restart zkelect'
[[ $(unit_property MainPID) != "${pid_before}" ]] || fail "systemctl restart kept the process"
in_box 'zkelect status --json | grep -q "\"role\":\"withdrawn\""' ||
  fail "not withdrawn after the restart: $(in_box 'zkelect status' || true)"
[[ $(candidates) == "[]" ]] || fail "the restarted daemon rejoined the election: $(candidates)"
in_box 'zkelect status | grep "^role"'
in_box 'zkelect join'
await "the leader again after zkelect join" 60 'zkelect check leader'

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
# What it counts against the unit (docs/operations.md says why each stays),
# and the overall exposure.
in_box 'systemd-analyze security zkelect --no-pager' | grep -E '^✗|Overall exposure'
phase "PASSED"
