#!/usr/bin/env python3
"""A leader-gated worker: does its work only while the local zkelect leads.

    ZKELECT_SOCKET=/run/zkelect/api.sock python3 leader_worker.py

One thread long-polls GET /is-leader over the daemon's Unix socket
(?index=N&wait=1s answers as soon as this node's role changes); the main
thread does one bounded unit of work at a time, and only while the last
answer was 200. Python 3 standard library only.

What it guarantees: the gate closes within milliseconds of the daemon's
role leaving "leader", and at once when the daemon cannot be asked (a
failed or timed-out poll counts as "not leader"; after a restart of the
daemon it simply polls again). A unit in progress is finished, so work
stops at most WORK_UNIT_S after that. The daemon itself stops leading when
it has not heard from ZooKeeper for session_timeout/2, and ZooKeeper cannot
elect another node before session_timeout: with WORK_UNIT_S well below
session_timeout/2, a lost connection never lets this work overlap the next
leader's. On a resign or a SIGTERM of the daemon the next leader may start
as soon as our node is deleted, so the last unit can overlap it by up to
WORK_UNIT_S (make the on_stop hook wait for the worker if that matters).
A frozen daemon (SIGSTOP, VM pause) cannot say that it stopped leading: a
poll parks at most POLL_WAIT_S, so no answer within ANSWER_TIMEOUT_S closes the gate,
inside the lease while ANSWER_TIMEOUT_S + WORK_UNIT_S stays below session_timeout/2.
Not covered: this worker frozen itself; where strict mutual
exclusion matters, check the epoch (GET /leader) where you write.
"""

import http.client
import os
import socket
import threading
import time

SOCKET = os.environ.get("ZKELECT_SOCKET", "/run/zkelect/api.sock")
WORK_UNIT_S = 0.2  # one unit of work; keep it well under session_timeout / 2
POLL_WAIT_S = 1  # how long one long-poll may park in the daemon
ANSWER_TIMEOUT_S = POLL_WAIT_S + 0.3  # no answer by then is "not leader" (a frozen daemon)

leading = threading.Event()


def log(message):
    print(f"{time.time():.3f} {message}", flush=True)


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix-domain socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def set_leading(yes, why):
    if yes != leading.is_set():
        log("leading" if yes else f"not leading ({why})")
    if yes:
        leading.set()
    else:
        leading.clear()


def watch():
    """Keeps `leading` equal to the daemon's answer, or clear if there is none."""
    index = 0
    while True:
        try:
            conn = UnixHTTPConnection(SOCKET, ANSWER_TIMEOUT_S)
            conn.request("GET", f"/is-leader?index={index}&wait={POLL_WAIT_S}s")
            response = conn.getresponse()
            response.read()
            conn.close()
            set_leading(response.status == 200, f"HTTP {response.status}")
            previous, index = index, int(response.getheader("X-Zkelect-Index", "0"))
            if index == previous:
                time.sleep(0.2)  # nothing new: never spin on a daemon that answers at once
        except Exception as error:  # whatever it is, there is no answer: not leader
            set_leading(False, f"no answer from {SOCKET}: {error}")
            index = 0
            time.sleep(1)


def main():
    threading.Thread(target=watch, daemon=True).start()
    unit = 0
    while True:
        leading.wait()  # the gate, checked before every unit
        unit += 1
        log(f"begin unit {unit}")
        time.sleep(WORK_UNIT_S)  # the leader-only work goes here
        log(f"end unit {unit}")


if __name__ == "__main__":
    main()
