#!/bin/sh
# A leader-gated worker: does its work only while the local zkelect leads.
#
#   ZKELECT_SOCKET=/run/zkelect/api.sock sh leader-worker.sh
#
# `zkelect wait --leader` blocks until this node leads; then a background
# watcher long-polls GET /is-leader with curl (?index=N&wait=1s answers as
# soon as this node's role changes) and removes the gate file when the answer
# is not 200 or there is none; the loop does one bounded unit of work at a
# time while the gate file exists. Needs curl 7.84 or later (%header{}), and
# GNU date and sleep for the milliseconds and the fractional sleep.
#
# What it guarantees: the gate closes within milliseconds of the daemon's
# role leaving "leader", and at once when the daemon cannot be asked (a
# failed or timed-out poll counts as "not leader"; after a restart of the
# daemon `zkelect wait` simply waits again). A unit in progress is finished,
# so work stops at most WORK_UNIT after that. The daemon itself stops leading
# when it has not heard from ZooKeeper for session_timeout/2, and ZooKeeper
# cannot elect another node before session_timeout: with WORK_UNIT well below
# session_timeout/2, a lost connection never lets this work overlap the next
# leader's. On a resign or a SIGTERM of the daemon the next leader may start
# as soon as our node is deleted, so the last unit can overlap it by up to
# WORK_UNIT (make the on_stop hook wait for the worker if that matters).
# A frozen daemon (SIGSTOP, VM pause) cannot say that it stopped leading: a
# poll parks at most POLL_WAIT, so no answer within ANSWER_TIMEOUT closes the gate,
# inside the lease while ANSWER_TIMEOUT + WORK_UNIT stays below session_timeout/2.
# Not covered: this worker frozen itself; where strict mutual
# exclusion matters, check the epoch (zkelect leader) where you write.
set -u
SOCKET=${ZKELECT_SOCKET:-/run/zkelect/api.sock}
WORK_UNIT=0.2 # seconds; keep it well under session_timeout / 2
POLL_WAIT=1  # seconds one long-poll may park in the daemon
ANSWER_TIMEOUT=1.3 # POLL_WAIT + 0.3: no answer by then is "not leader" (a frozen daemon)

gate=$(mktemp) || exit 1
trap 'rm -f "$gate"' EXIT
trap 'exit 0' TERM INT

log() { printf '%s %s\n' "$(date +%s.%3N)" "$*"; }

# Returns once this node does not lead or the daemon cannot be asked.
watch_leadership() {
  index=0
  while answer=$(curl -s -o /dev/null --max-time $ANSWER_TIMEOUT --unix-socket "$SOCKET" \
    -w '%{http_code} %header{x-zkelect-index}' \
    "http://localhost/is-leader?index=$index&wait=${POLL_WAIT}s"); do
    [ "${answer%% *}" = 200 ] || return 0
    index=${answer#* }
    index=${index:-0}
  done
}

unit=1
while :; do
  if ! zkelect wait --leader --addr "unix:$SOCKET" >/dev/null; then
    sleep 1 # no daemon to ask (it said why on stderr): try again
    continue
  fi
  log leading
  touch "$gate"
  (watch_leadership; rm -f "$gate") &
  while [ -e "$gate" ]; do # the gate, checked before every unit
    log "begin unit $unit"
    sleep "$WORK_UNIT" # the leader-only work goes here
    log "end unit $unit"
    unit=$((unit + 1))
  done
  wait
  log "not leading"
done
