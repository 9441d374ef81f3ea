# shellcheck shell=bash
# Sourced by the scripts that build and run zkelect's container images
# (scripts/compose-demo.sh, tests/package/*.sh). Needs `repo_root` set.
#
#   container_engine_find   sets `engine` (an array: the command that runs
#                           podman) or returns 1 when there is none, with
#                           `engine_missing` saying why
#   podman_cmd ARGS...      runs podman through it
#   container_base_ready    makes sure debian:bookworm-slim exists locally
#   build_zookeeper_image   builds docker.io/library/zookeeper:3.8
#   build_zkelect_image     builds localhost/zkelect:latest
#   build_image_from_deb    an image with a built .deb, cached by content hash
#
# The engine is $ZKELECT_CONTAINER_ENGINE when set (a podman binary, or a
# wrapper run as `WRAPPER podman ARGS...`), else `podman` on PATH, which
# scripts/install-deps.sh installs (with runc and debootstrap). Images are
# rebuilt on every call; podman's layer cache makes an unchanged rebuild take
# seconds, and a changed source tree rebuilds what changed.

readonly ZKELECT_BASE_IMAGE=docker.io/library/debian:bookworm-slim
readonly ZOOKEEPER_IMAGE=docker.io/library/zookeeper:3.8
readonly ZKELECT_IMAGE=localhost/zkelect:latest
engine=()
# shellcheck disable=SC2034 # read by the scripts that source this file
engine_missing=""

container_engine_find() {
  : "${repo_root:?container.sh needs repo_root}"
  if [[ -n ${ZKELECT_CONTAINER_ENGINE:-} && "$(basename "${ZKELECT_CONTAINER_ENGINE}")" != podman ]]; then
    engine=("${ZKELECT_CONTAINER_ENGINE}" podman)
    return 0
  fi
  local podman=${ZKELECT_CONTAINER_ENGINE:-$(command -v podman || true)}
  if [[ -n ${ZKELECT_CONTAINER_ENGINE:-} && ! -x ${podman} ]]; then
    engine_missing="no container engine: ZKELECT_CONTAINER_ENGINE=${podman} is not an executable"
    return 1
  fi
  if [[ -z ${podman} ]]; then
    engine_missing="no container engine: no podman on PATH (scripts/install-deps.sh installs it)"
    engine_missing+=" and ZKELECT_CONTAINER_ENGINE is not set"
    return 1
  fi
  plain_podman_engine "${podman}"
}

# Plain podman with what a sandboxed root needs: podman's default ulimits
# (nofile raised to 1048576) make runc fail with "error setting rlimit type 7:
# operation not permitted", and crun cannot run on a cgroup v1/hybrid host.
plain_podman_engine() {
  local conf="${TMPDIR:-/tmp}/zkelect-containers.conf"
  printf '[containers]\ndefault_ulimits = []\n' >"${conf}"
  engine=(env CONTAINERS_CONF="${conf}" "$1" --cgroup-manager=cgroupfs)
  if command -v runc >/dev/null 2>&1; then engine+=(--runtime runc); fi
}

podman_cmd() {
  "${engine[@]}" "$@"
}

# Makes sure the base image exists locally: pulled when a registry answers,
# else made with debootstrap from Debian's package archive (a few minutes,
# once per machine; needs root and debootstrap, see scripts/install-deps.sh).
container_base_ready() {
  if podman_cmd image exists "${ZKELECT_BASE_IMAGE}" 2>/dev/null; then
    return 0
  fi
  if podman_cmd pull --quiet "${ZKELECT_BASE_IMAGE}" >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v debootstrap >/dev/null 2>&1 || [[ ${EUID} -ne 0 ]]; then
    echo "no ${ZKELECT_BASE_IMAGE} image: it cannot be pulled, and making it needs root" \
      "and debootstrap (scripts/install-deps.sh installs it)" >&2
    return 1
  fi
  echo "making ${ZKELECT_BASE_IMAGE} with debootstrap (it cannot be pulled here)" >&2
  local rootfs status=0
  rootfs=$(mktemp -d)
  { debootstrap --variant=minbase bookworm "${rootfs}" >/dev/null &&
    tar -C "${rootfs}" -c . | podman_cmd import - "${ZKELECT_BASE_IMAGE}" >/dev/null; } || status=$?
  rm -rf "${rootfs}"
  return "${status}"
}

build_zookeeper_image() {
  podman_cmd build --pull=never --quiet --format docker -t "${ZOOKEEPER_IMAGE}" "${repo_root}/docker/zookeeper" >/dev/null
}

build_zkelect_image() {
  podman_cmd build --pull=never --quiet --format docker -t "${ZKELECT_IMAGE}" -f "${repo_root}/docker/Dockerfile" \
    "${repo_root}" >/dev/null
}

# build_image_from_deb DEB CONTAINERFILE: builds CONTAINERFILE, which
# installs the Debian package DEB (copied in as zkelect.deb) into the base
# image, and sets `deb_image` to the image's name. The tag is a hash of what goes into the image (the
# package's control data and files, not its timestamps; the Containerfile;
# the base image's id), so an unchanged package reuses the image of an
# earlier run instead of installing it again.
build_image_from_deb() {
  local deb=$1 containerfile=$2
  local hash
  hash=$({
    dpkg-deb --info "${deb}" control
    dpkg-deb --fsys-tarfile "${deb}" | tar -tv --numeric-owner | awk '{print $1, $2, $3, $NF}'
    dpkg-deb --fsys-tarfile "${deb}" | tar -xO
    cat "${containerfile}"
    podman_cmd image inspect --format '{{.Id}}' "${ZKELECT_BASE_IMAGE}"
  } | sha256sum | cut -c1-16)
  deb_image="localhost/zkelect:deb-${hash}"
  if podman_cmd image exists "${deb_image}"; then
    return 0
  fi
  local context
  context=$(mktemp -d)
  cp "${deb}" "${context}/zkelect.deb"
  local status=0
  podman_cmd build --pull=never --quiet --format docker -t "${deb_image}" -f "${containerfile}" \
    "${context}" >/dev/null || status=$?
  rm -rf "${context}"
  return "${status}"
}
