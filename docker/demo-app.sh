#!/bin/sh
# The compose demo's "application": it does its leader-only work (here, a log
# line a second) only while its zkelect sidecar, reached on localhost in the
# shared network namespace, says this instance leads. A real application
# would long-poll (`zkelect wait --leader`, GET /is-leader?index=N&wait=30s)
# or use hooks instead of polling once a second.
set -u
# As PID 1 the shell ignores SIGTERM unless it handles it: exit on stop.
trap 'echo "${name}: stopping"; exit 0' TERM INT
name=${APP_NAME:-app}
role=starting
while :; do
  if zkelect check leader >/dev/null 2>&1; then now=leader; else now=standby; fi
  if [ "${now}" != "${role}" ]; then
    echo "${name}: now ${now}"
    role=${now}
  fi
  if [ "${now}" = leader ]; then
    echo "${name}: doing the leader-only work ($(zkelect leader 2>/dev/null))"
  fi
  sleep 1
done
