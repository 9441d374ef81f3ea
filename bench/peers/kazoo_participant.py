#!/usr/bin/python3
"""A kazoo Election participant for bench/failover.

    kazoo_participant.py CONNECT PATH ID SESSION_SECONDS STAMP_FILE

When the election runs our function (we lead), it appends
"start <time.monotonic_ns()>" to STAMP_FILE (CLOCK_MONOTONIC, the clock of
every other participant). SIGTERM stops the client: the session is closed and
ZooKeeper deletes our node at once, kazoo's graceful exit.
"""
import os
import signal
import sys
import threading
import time

from kazoo.client import KazooClient


def stamp(path, label):
    line = "%s %d\n" % (label, time.monotonic_ns())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def main():
    connect, path, ident, session_s, stamp_file = sys.argv[1:6]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = KazooClient(hosts=connect, timeout=float(session_s))
    client.start()
    election = client.Election(path, ident)

    def lead():
        stamp(stamp_file, "start")
        stop.wait()

    runner = threading.Thread(target=election.run, args=(lead,), daemon=True)
    runner.start()
    stamp(stamp_file, "joined")
    while not stop.wait(1.0):
        pass
    client.stop()  # closes the session: our node goes with it
    client.close()


if __name__ == "__main__":
    main()
