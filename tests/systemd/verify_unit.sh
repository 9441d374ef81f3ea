#!/usr/bin/env bash
# Checks systemd/zkelect.service with `systemd-analyze verify`, its ExecStart
# pointed at the zkelect binary under test ($1), since the packaged path
# (/usr/bin/zkelect) is not installed on a build machine.
set -euo pipefail
binary=$1
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
sed "s|/usr/bin/zkelect|${binary}|" "${source_dir}/systemd/zkelect.service" >"${work}/zkelect.service"
output=$(systemd-analyze verify "${work}/zkelect.service" 2>&1) || {
  echo "${output}"
  exit 1
}
# verify exits 0 on some warnings; treat any output about our unit as a failure.
if grep -q "zkelect.service" <<<"${output}"; then
  echo "${output}"
  exit 1
fi
echo "systemd-analyze verify: zkelect.service OK"
