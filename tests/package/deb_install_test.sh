#!/usr/bin/env bash
# The in_box scripts are single-quoted on purpose: they expand in the container.
# shellcheck disable=SC2016
#
# Installs the Debian package into a clean debian:bookworm-slim container and
# checks it as an operator would use it:
#   - `apt install ./zkelect_*.deb` resolves the runtime dependencies;
#   - the zkelect system user and the /etc/zkelect/zkelect.toml conffile exist;
#   - every program the unit file runs (ExecStart=, ExecReload=) exists;
#   - `zkelect --version` prints this build's version;
#   - the unit's ExecStart line, read from the installed unit file, run as
#     the zkelect user against a ZooKeeper (a sibling container sharing the
#     network namespace), answers GET /readyz with 200 and leads;
#   - SIGTERM makes it exit 0;
#   - `apt purge` with a token file added to /etc/zkelect (as
#     docs/operations.md tells operators to) removes the package's files and
#     keeps the token and the zkelect user and group, which still own it
#     (finding 8 of the operations review: the purge deleted the group and
#     left the token owned by a dangling group id); without added files,
#     /etc/zkelect goes.
#
#   deb_install_test.sh BUILD_DIR VERSION
#
# Exits 77 (CTest: skipped) when no container engine is found. Prints how
# long each phase took.
set -euo pipefail

build_dir=$(cd "$1" && pwd)
version=$2
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/container.sh
source "${repo_root}/scripts/lib/container.sh"

if ! container_engine_find; then
  echo "SKIPPED: ${engine_missing}"
  exit 77
fi

started=${SECONDS}
phase() { printf 'deb_install_test: [%3ds] %s\n' "$((SECONDS - started))" "$*"; }

work=$(mktemp -d)
name=zkelect-debtest-$$
cleanup() {
  # One name a call: given several, this podman stops at the first that is
  # gone and leaves the others running.
  local container
  for container in "${name}-box" "${name}-zk"; do
    podman_cmd rm -f -t 0 "${container}" >/dev/null 2>&1 || true
  done
  rm -rf "${work}"
}
trap cleanup EXIT

phase "images: ${ZKELECT_BASE_IMAGE}, ${ZOOKEEPER_IMAGE}"
container_base_ready
build_zookeeper_image

phase "cpack -G DEB"
cpack --config "${build_dir}/CPackConfig.cmake" -G DEB -B "${work}/deb" >/dev/null
deb=$(cd "${work}/deb" && ls zkelect_*.deb)
dpkg-deb -I "${work}/deb/${deb}"

phase "starting ZooKeeper and a clean container in its network namespace"
podman_cmd run -d --name "${name}-zk" -e ZOO_ADMINSERVER_ENABLED=false "${ZOOKEEPER_IMAGE}" >/dev/null
podman_cmd run -d --name "${name}-box" --network "container:${name}-zk" \
  -v "${work}/deb:/deb:ro" "${ZKELECT_BASE_IMAGE}" sleep 900 >/dev/null

in_box() {
  podman_cmd exec -i "${name}-box" bash -euo pipefail -c "$1"
}

phase "apt install ./${deb}"
in_box "apt-get update -q >/dev/null && \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /deb/${deb} >/dev/null"

phase "checking the user, the conffile and --version"
in_box '
  getent passwd zkelect
  test -f /etc/zkelect/zkelect.toml
  grep -qx /etc/zkelect/zkelect.toml /var/lib/dpkg/info/zkelect.conffiles
  echo "conffile: /etc/zkelect/zkelect.toml"
  test -x /usr/share/zkelect/hooks/promote
'
# Every program the unit runs (ExecStart=, ExecReload=, ...) is on a minimal
# system with the package and its dependencies: ExecReload=/bin/kill failed
# `systemctl reload` where procps was not installed (debian:bookworm-slim).
in_box '
  for program in $(sed -n "s/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p" /lib/systemd/system/zkelect.service); do
    if [ ! -x "${program}" ]; then
      echo "FAILED: the unit runs ${program}, which neither the package nor its dependencies install" >&2
      exit 1
    fi
    echo "the unit runs ${program}: installed"
  done
'
installed_version=$(in_box 'zkelect --version')
echo "zkelect --version: ${installed_version}"
[[ "${installed_version}" == "zkelect ${version}" ]] || {
  echo "FAILED: expected zkelect ${version}" >&2
  exit 1
}

phase "running the unit's ExecStart as the zkelect user"
# The unit's configuration comes from /etc/zkelect/zkelect.toml; the ZooKeeper
# address is given as a drop-in would (Environment=ZKELECT_ZK_SERVERS=...).
in_box '
  exec_start=$(sed -n "s/^ExecStart=//p" /lib/systemd/system/zkelect.service)
  echo "ExecStart: ${exec_start}"
  read -r -a argv <<<"${exec_start}"
  export ZKELECT_ZK_SERVERS=127.0.0.1:2181 ZKELECT_ELECTION_PATH=/debtest ZKELECT_ID=debtest
  # What RuntimeDirectory=zkelect and RuntimeDirectoryMode= of the unit make:
  # the directory of the package configuration'"'"'s API socket.
  install -d -o zkelect -g zkelect -m "$(sed -n "s/^RuntimeDirectoryMode=//p" /lib/systemd/system/zkelect.service)" /run/zkelect
  # A waiting parent records the exit status; setpriv execs, so $! is zkelect.
  setsid bash -c '"'"'setpriv --reuid=zkelect --regid=zkelect --init-groups -- "$@" &
    echo $! >/tmp/zkelect.pid; wait $!; echo $? >/tmp/zkelect.rc'"'"' _ "${argv[@]}" \
    </dev/null >/tmp/zkelect.log 2>&1 &
  for _ in $(seq 1 50); do [ -s /tmp/zkelect.pid ] && break; sleep 0.1; done
'

# GET /readyz with the package's own client: it reads the conffile, whose API
# is the Unix socket /run/zkelect/api.sock (no TCP port is open).
status=""
for _ in $(seq 1 120); do
  status=$(in_box "zkelect check ready" 2>/dev/null || true)
  [[ "${status}" == "ready: yes" ]] && break
  sleep 0.5
done
echo "zkelect check ready: ${status}"
in_box 'stat -c "socket: %n %a %U:%G" /run/zkelect/api.sock'
if [[ "${status}" != "ready: yes" ]]; then
  echo "FAILED: /readyz did not answer 200 within 60s; the daemon's log:" >&2
  in_box 'cat /tmp/zkelect.log' >&2 || true
  exit 1
fi
in_box 'pid=$(cat /tmp/zkelect.pid)
  echo "daemon runs as: $(stat -c %U "/proc/${pid}") ($(tr "\0" " " <"/proc/${pid}/cmdline"))"
  test "$(stat -c %U "/proc/${pid}")" = zkelect
  zkelect check leader'

phase "SIGTERM: a clean exit"
in_box '
  kill -TERM "$(cat /tmp/zkelect.pid)"
  for _ in $(seq 1 100); do [ -s /tmp/zkelect.rc ] && break; sleep 0.1; done
  tail -n 3 /tmp/zkelect.log
  if [ "$(cat /tmp/zkelect.rc 2>/dev/null)" != 0 ]; then
    echo "FAILED: expected exit status 0 within 10s of SIGTERM, got \"$(cat /tmp/zkelect.rc 2>/dev/null)\"" >&2
    exit 1
  fi
  echo "exit status 0"
  if [ -e /run/zkelect/api.sock ]; then
    echo "FAILED: the API socket /run/zkelect/api.sock outlived the daemon" >&2
    exit 1
  fi
  echo "socket removed on exit"
'

phase "apt purge, with a token file the operator added"
in_box '
  install -m 0640 -o root -g zkelect /dev/null /etc/zkelect/token
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q zkelect >/dev/null
  fail() { echo "FAILED: $*" >&2; ls -ln /etc/zkelect >&2 || true; exit 1; }
  [ -e /usr/bin/zkelect ] && fail "the binary is left"
  [ -e /etc/zkelect/zkelect.toml ] && fail "the conffile is left"
  [ -f /etc/zkelect/token ] || fail "the operator'"'"'s token file was removed"
  getent passwd zkelect >/dev/null || fail "the zkelect user was removed (Debian keeps system users)"
  owner=$(stat -c %U:%G /etc/zkelect/token)
  [ "${owner}" = root:zkelect ] || fail "the token is owned by ${owner}, expected root:zkelect"
  echo "purged: binary and conffile gone; the token stays, owned by ${owner}"
  rm /etc/zkelect/token
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /deb/*.deb >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q zkelect >/dev/null
  [ -e /etc/zkelect ] && fail "/etc/zkelect is left, with nothing added to it"
  echo "purged again without added files: no /etc/zkelect"
'
phase "PASSED"
