#!/usr/bin/env bash
# Installs what is needed (apt), builds zkelect (release), starts a local
# standalone ZooKeeper from Debian's `zookeeper` package with its data in a
# temporary directory, and runs three zkelect daemons on 127.0.0.1:4040-4042:
# node-1 and node-2 in the background, node-3 in the foreground. Ctrl-C stops
# everything and removes the temporary directory.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${repo_root}"

http_ports=(4040 4041 4042)
election_path=/zkelect/demo
session_timeout=6s

log() { printf 'run-demo: %s\n' "$*" >&2; }

port_in_use() {
  [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

# Sends a ZooKeeper four-letter word to 127.0.0.1:$1 and prints the answer.
four_letter_word() {
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s" "$2" >&3 && cat <&3' _ "$1" "$2" \
    2>/dev/null
}

bash "${repo_root}/scripts/install-deps.sh"

# The daemon alone: the demo needs no test program (building every test
# suite first took many minutes before anything started).
log "building zkelect (cmake --preset release && cmake --build --preset release --target zkelect)"
cmake --preset release >/dev/null
cmake --build --preset release --target zkelect
zkelect_bin="${repo_root}/build/release/zkelect"

for port in "${http_ports[@]}"; do
  if port_in_use "${port}"; then
    log "port ${port} is in use; stop whatever listens there (ss -ltnp 'sport = :${port}') and retry"
    exit 1
  fi
done

zk_port=2181
if port_in_use "${zk_port}"; then
  zk_port=""
  for candidate in $(seq 21810 21899); do
    if ! port_in_use "${candidate}"; then
      zk_port=${candidate}
      break
    fi
  done
  if [[ -z "${zk_port}" ]]; then
    log "no free port for ZooKeeper in 2181, 21810-21899"
    exit 1
  fi
fi

work_dir=$(mktemp -d -t zkelect-demo.XXXXXX)
pids=()
zk_pid=""

cleanup() {
  trap - EXIT INT TERM
  log "stopping the daemons and ZooKeeper"
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  if [[ -n "${zk_pid}" ]]; then
    kill -TERM "${zk_pid}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "${zk_pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${zk_pid}" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "${work_dir}"
  log "done; removed ${work_dir}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "${work_dir}/zookeeper/data"
cat >"${work_dir}/zookeeper/zoo.cfg" <<CFG
tickTime=500
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=${work_dir}/zookeeper/data
clientPort=${zk_port}
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
CFG

classpath=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar
if [[ -r /usr/share/java/slf4j-simple.jar ]]; then
  classpath+=:/usr/share/java/slf4j-simple.jar  # without a binding ZooKeeper logs nothing
fi
log "starting ZooKeeper on 127.0.0.1:${zk_port} (data and log in ${work_dir}/zookeeper)"
java -Dzookeeper.log.dir="${work_dir}/zookeeper" -Xmx128m -XX:+UseSerialGC \
  -cp "${classpath}" org.apache.zookeeper.server.quorum.QuorumPeerMain \
  "${work_dir}/zookeeper/zoo.cfg" >"${work_dir}/zookeeper/zookeeper.log" 2>&1 &
zk_pid=$!

for attempt in $(seq 1 150); do
  if [[ "$(four_letter_word "${zk_port}" ruok || true)" == "imok" ]]; then
    break
  fi
  if ! kill -0 "${zk_pid}" 2>/dev/null || [[ ${attempt} -eq 150 ]]; then
    log "ZooKeeper did not come up; its log:"
    tail -n 40 "${work_dir}/zookeeper/zookeeper.log" >&2
    exit 1
  fi
  sleep 0.2
done
log "ZooKeeper answers ruok"

daemon_args() {  # $1 = index 0..2
  printf '%s\n' run "--id=node-$(($1 + 1))" "--zk.servers=127.0.0.1:${zk_port}" \
    "--election.path=${election_path}" "--zk.session_timeout=${session_timeout}" \
    "--http.listen=127.0.0.1:${http_ports[$1]}"
}

for i in 0 1; do
  mapfile -t args < <(daemon_args "${i}")
  "${zkelect_bin}" "${args[@]}" >"${work_dir}/node-$((i + 1)).log" 2>&1 &
  pids+=($!)
  for attempt in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:${http_ports[$i]}/healthz" 2>/dev/null; then
      break
    fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null || [[ ${attempt} -eq 100 ]]; then
      log "node-$((i + 1)) did not start; its log:"
      tail -n 40 "${work_dir}/node-$((i + 1)).log" >&2
      exit 1
    fi
    sleep 0.1
  done
  log "node-$((i + 1)) runs in the background on 127.0.0.1:${http_ports[$i]} (log: ${work_dir}/node-$((i + 1)).log)"
done

cat <<EOF

  zkelect demo: ZooKeeper on 127.0.0.1:${zk_port}, election path ${election_path}
  node-1 on :${http_ports[0]} and node-2 on :${http_ports[1]} (background),
  node-3 on :${http_ports[2]} (foreground, its log follows).

  In another terminal:
    curl -s localhost:4040/leader             # who leads (any node answers)
    curl -s localhost:4041/status             # one node's whole view
    curl -si localhost:4042/is-leader         # 200 on the leader, 503 elsewhere
    curl -s -X POST localhost:4040/resign     # node-1 steps back if it leads (else 409)
    curl -s 'localhost:4041/leader?index=1&wait=30s'   # long-poll: answers on change
    curl -s localhost:4040/readyz; curl -s localhost:4040/healthz
    ${zkelect_bin} status --addr 127.0.0.1:4041   # the same, without curl

  Ctrl-C stops all three daemons and ZooKeeper and removes ${work_dir}.

EOF

# In the foreground: Ctrl-C reaches it as SIGINT (a graceful exit), then the
# EXIT trap stops the rest.
mapfile -t args < <(daemon_args 2)
"${zkelect_bin}" "${args[@]}"
