#!/usr/bin/env bash
# Runs docker/kubernetes/ with `podman kube play`, no cluster needed (issue
# 21, finding 13: the manifests had never run), beside a ZooKeeper pod:
#   - every replica's application container reaches its own sidecar (the
#     /status id is its pod's name) through the Unix socket in the pod's
#     api-socket emptyDir volume, and on 127.0.0.1:4040 (the pod's shared
#     network namespace), with the ConfigMap's file as the sidecar's
#     configuration and the Secret's token mounted;
#   - exactly one replica's application works as the leader;
#   - the leader's pod stopped (SIGTERM, as Kubernetes deletes a pod), both of
#     its containers exit 0 within the grace period, and another replica's
#     application takes over, again exactly one.
# What Podman 4.3 cannot run as written (replicas, status.podIP, a secret
# volume without `optional`, a Secret's stringData) is replaced by
# tests/package/kubernetes/pod_from_deployment.py, which says how; probes
# become podman health checks, which need systemd timers and do not run here.
#
#   kubernetes_play_test.sh BUILD_DIR
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
phase() { printf 'kubernetes_play_test: [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  echo "FAILED: $*" >&2
  local pod
  for pod in "${replicas[@]}"; do
    echo "--- ${pod}: app, then zkelect ($(podman_cmd inspect --format '{{.State.Status}}' "${pod}-zkelect" 2>&1))" >&2
    podman_cmd logs --tail 2 "${pod}-app" >&2 2>&1 || true
    podman_cmd logs --tail 4 "${pod}-zkelect" >&2 2>&1 || true
  done
  exit 1
}

manifests="${repo_root}/docker/kubernetes"
to_pod="${repo_root}/tests/package/kubernetes/pod_from_deployment.py"
work=$(mktemp -d)
suffix="-kt$$"
network="zkelect-kube${suffix}"
zk_pod="zk${suffix}"
replicas=("myapp-1${suffix}" "myapp-2${suffix}" "myapp-3${suffix}")
cleanup() {
  local pod
  for pod in "${replicas[@]}" "${zk_pod}"; do
    podman_cmd pod rm -f -t 0 "${pod}" >/dev/null 2>&1 || true
  done
  podman_cmd secret rm "myapp-zkelect${suffix}" >/dev/null 2>&1 || true
  # kube play keeps the pods' emptyDir, ConfigMap and Secret volumes (named
  # with the suffix by pod_from_deployment.py).
  local volume
  for volume in $(podman_cmd volume ls -q 2>/dev/null | grep -F -- "${suffix}"); do
    podman_cmd volume rm -f "${volume}" >/dev/null 2>&1 || true
  done
  podman_cmd network rm -f "${network}" >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

phase "images: ${ZKELECT_BASE_IMAGE}, ${ZOOKEEPER_IMAGE}, zkelect from this build's package"
container_base_ready
build_zookeeper_image
cpack --config "${build_dir}/CPackConfig.cmake" -G DEB -B "${work}/deb" >/dev/null
build_image_from_deb "$(ls "${work}"/deb/zkelect_*.deb)" "${repo_root}/tests/package/kubernetes/Containerfile.deb"
echo "zkelect image: ${deb_image}"

phase "network ${network}, ZooKeeper pod ${zk_pod}"
podman_cmd network create "${network}" >/dev/null
subnet=$(podman_cmd network inspect --format '{{range .Subnets}}{{.Subnet}}{{end}}' "${network}")
# Fixed addresses in the network: .10 ZooKeeper, .11... the replicas.
address() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1])[int(sys.argv[2])])' "${subnet}" "$1"; }
zk_ip=$(address 10)
cat >"${work}/zk.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: ${zk_pod}
spec:
  containers:
    - name: zookeeper
      image: ${ZOOKEEPER_IMAGE}
      env:
        - name: ZOO_ADMINSERVER_ENABLED
          value: "false"
YAML
podman_cmd kube play --network "${network}" --ip "${zk_ip}" "${work}/zk.yaml" >/dev/null

phase "Secret, then one pod per replica (${replicas[*]})"
python3 "${to_pod}" "${manifests}" "${suffix}" --secret >"${work}/secret.yaml"
# (--network: without one, kube play makes podman-default-kube-network.)
podman_cmd kube play --network "${network}" "${work}/secret.yaml" >/dev/null
index=11
for pod in "${replicas[@]}"; do
  ip=$(address "${index}")
  index=$((index + 1))
  python3 "${to_pod}" "${manifests}" "${suffix}" "${deb_image}" "${pod}" "${ip}" "${zk_ip}:2181" \
    >"${work}/${pod}.yaml"
  podman_cmd kube play --network "${network}" --ip "${ip}" "${work}/${pod}.yaml" >/dev/null
done

# in_app POD ARGS...: runs a command in POD's application container.
in_app() {
  local pod=$1
  shift
  podman_cmd exec "${pod}-app" "$@"
}

# await DESCRIPTION SECONDS COMMAND...: until COMMAND succeeds, or fails the test.
await() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "${what}: not within ${seconds}s"
    sleep 0.5
  done
}

# leaders POD...: prints the pods whose application says it does the leader's
# work now (its last line of output is the stand-in's "leading: ...").
leaders() {
  local pod
  for pod in "$@"; do
    if podman_cmd logs "${pod}-app" 2>/dev/null | grep -E '^(leading|no longer leading)' | tail -n 1 |
      grep -q '^leading'; then
      echo "${pod}"
    fi
  done
}

exactly_one_leader() {
  local found
  found=$(leaders "$@")
  [[ $(wc -w <<<"${found}") -eq 1 ]]
}

phase "each application container reaches its own sidecar"
for pod in "${replicas[@]}"; do
  await "${pod}: zkelect check live from the app container" 120 in_app "${pod}" zkelect check live
  # The socket of its own pod's sidecar, not another replica's.
  in_app "${pod}" zkelect status --json | grep -qF "\"id\":\"${pod}\"" ||
    fail "${pod}'s app container reaches another sidecar: $(in_app "${pod}" zkelect status || true)"
  in_app "${pod}" zkelect check live --addr 127.0.0.1:4040 >/dev/null ||
    fail "${pod}'s app container does not reach its sidecar on 127.0.0.1:4040"
  echo "${pod}: the app container reaches its sidecar (id ${pod}) on unix:/run/zkelect/api.sock and 127.0.0.1:4040"
done

phase "exactly one replica's application leads"
await "exactly one leading application among ${replicas[*]}" 120 exactly_one_leader "${replicas[@]}"
leader=$(leaders "${replicas[@]}")
echo "leading application: ${leader}"
for pod in "${replicas[@]}"; do
  if [[ ${pod} == "${leader}" ]]; then
    in_app "${pod}" zkelect check leader >/dev/null || fail "${pod}'s app leads but its sidecar says it does not"
  elif in_app "${pod}" zkelect check leader >/dev/null 2>&1; then
    fail "${pod}'s sidecar says it leads too (the leading application is ${leader})"
  fi
done
# The candidate's id is its pod's name (ZKELECT_ID from metadata.name).
leader_id=$(in_app "${replicas[0]}" zkelect leader 2>&1 || true)
echo "zkelect leader (from ${replicas[0]}): ${leader_id}"
[[ ${leader_id} == "${leader} "* ]] || fail "the leader's id is not its pod's name ${leader}: ${leader_id}"
# Its address is its pod's IP and the application's port (ZKELECT_ADDRESS).
leader_ip=$(podman_cmd inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${leader}-zkelect")
[[ ${leader_id} == *" ${leader_ip}:8080 "* ]] || fail "the leader's address is not ${leader_ip}:8080: ${leader_id}"

phase "stopping the leader's pod ${leader} (SIGTERM, grace period 30s as in the manifest)"
# As the kubelet deletes a pod: SIGTERM to its containers while the pod's
# network stays. (`podman pod stop` tears the network down at the same time:
# the sidecar then cannot reach ZooKeeper to delete its node on the way out.)
podman_cmd stop -t 30 "${leader}-app" "${leader}-zkelect" >/dev/null
for container in app zkelect; do
  status=$(podman_cmd inspect --format '{{.State.ExitCode}}' "${leader}-${container}")
  echo "${leader}-${container}: exit status ${status}"
  if [[ ${status} -ne 0 ]]; then
    podman_cmd logs --tail 5 "${leader}-${container}" >&2 || true
    fail "${leader}'s ${container} container exited ${status} on SIGTERM, expected 0 (137: killed after the grace period)"
  fi
done

phase "another replica's application takes over"
survivors=()
for pod in "${replicas[@]}"; do [[ ${pod} == "${leader}" ]] || survivors+=("${pod}"); done
await "exactly one leading application among ${survivors[*]}" 120 exactly_one_leader "${survivors[@]}"
echo "leading application now: $(leaders "${survivors[@]}")"
phase "PASSED"
