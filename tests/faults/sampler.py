"""Samples GET /is-leader on every daemon every 10 ms (a separate process).

    python3 sampler.py OUT_FILE INTERVAL_MS ID=HOST:PORT ...

Runs until SIGTERM or SIGINT. Each tick sends one request on every daemon's
keep-alive connection that has no request in flight (a daemon still busy
answering, or frozen by SIGSTOP, is skipped and the skip is counted). Each
answer is one line of OUT_FILE:

    <send ns> <answer ns> <id> <status>

with CLOCK_MONOTONIC times (the clock of the hook log), and status the HTTP
code, or "err" when the connection failed or closed before an answer (a
killed daemon). The daemon held the answer's role at some instant between
send and answer. On exit, one JSON line of statistics goes to stdout: per
daemon the number of answers, skipped ticks, and the ticks that were late.

Single-threaded, non-blocking sockets and one selector, so one slow daemon
never delays the samples of the others.
"""

import errno
import json
import selectors
import signal
import socket
import sys
import time

_REQUEST_TEMPLATE = "GET /is-leader HTTP/1.1\r\nHost: {host}\r\n\r\n"


class Target:
    def __init__(self, daemon_id, host, port):
        self.id = daemon_id
        self.address = (host, port)
        self.request = _REQUEST_TEMPLATE.format(host=host).encode()
        self.sock = None
        self.connecting = False
        self.in_flight = False
        self.sent_ns = 0
        self.buffer = b""
        self.answers = 0
        self.skipped = 0
        self.errors = 0


class Sampler:
    def __init__(self, out, interval_ns, targets):
        self._out = out
        self._interval_ns = interval_ns
        self._targets = targets
        self._selector = selectors.DefaultSelector()
        self._stop = False
        self.ticks = 0
        self.late_ticks = 0

    def stop(self, *_):
        self._stop = True

    def run(self):
        next_tick = time.monotonic_ns()
        while not self._stop:
            now = time.monotonic_ns()
            if now >= next_tick:
                self.ticks += 1
                for target in self._targets:
                    self._tick(target)
                next_tick += self._interval_ns
                if next_tick < now:  # the process was descheduled: skip, count
                    self.late_ticks += 1
                    next_tick = now + self._interval_ns
            timeout = max(0.0, (next_tick - time.monotonic_ns()) / 1e9)
            for key, events in self._selector.select(timeout):
                self._ready(key.data, events)
        self._out.flush()

    def _tick(self, target):
        if target.in_flight or target.connecting:
            target.skipped += 1
            return
        if target.sock is None:
            self._connect(target)
            return
        self._send(target)

    def _connect(self, target):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = sock.connect_ex(target.address)
        target.sock = sock
        target.sent_ns = time.monotonic_ns()
        target.in_flight = True  # a failed connect is an "err" sample
        if rc in (0, errno.EINPROGRESS):
            target.connecting = True
            self._selector.register(sock, selectors.EVENT_WRITE, target)
        else:
            self._fail(target)

    def _send(self, target):
        target.sent_ns = time.monotonic_ns()
        target.in_flight = True
        target.buffer = b""
        try:
            target.sock.send(target.request)  # a few bytes: fits the empty send buffer
        except OSError:
            self._fail(target)

    def _ready(self, target, events):
        if target.connecting:
            target.connecting = False
            if target.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                self._fail(target)
                return
            self._selector.modify(target.sock, selectors.EVENT_READ, target)
            self._send(target)
            return
        try:
            chunk = target.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._fail(target)
            return
        target.buffer += chunk
        self._parse(target)

    def _parse(self, target):
        head_end = target.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = target.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(target.buffer) < head_end + 4 + length:
            return
        status = head[0].split(" ")[1] if " " in head[0] else "err"
        self._record(target, status)
        target.buffer = b""
        if headers.get("connection", "").lower() == "close":
            self._close(target)

    def _record(self, target, status):
        now = time.monotonic_ns()
        if target.in_flight:
            self._out.write(f"{target.sent_ns} {now} {target.id} {status}\n")
            target.answers += status != "err"
            target.errors += status == "err"
        target.in_flight = False

    def _fail(self, target):
        self._record(target, "err")
        self._close(target)

    def _close(self, target):
        if target.sock is not None:
            try:
                self._selector.unregister(target.sock)
            except (KeyError, ValueError):
                pass
            target.sock.close()
        target.sock = None
        target.connecting = False

    def stats(self):
        return {"ticks": self.ticks, "late_ticks": self.late_ticks,
                "daemons": {t.id: {"answers": t.answers, "skipped": t.skipped,
                                   "errors": t.errors} for t in self._targets}}


def main(argv):
    out_path, interval_ms = argv[1], int(argv[2])
    targets = []
    for spec in argv[3:]:
        daemon_id, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        targets.append(Target(daemon_id, host, int(port)))
    with open(out_path, "a", buffering=1 << 20) as out:
        sampler = Sampler(out, interval_ms * 1_000_000, targets)
        signal.signal(signal.SIGTERM, sampler.stop)
        signal.signal(signal.SIGINT, sampler.stop)
        started = time.monotonic_ns()
        sampler.run()
        stats = sampler.stats()
        stats["seconds"] = (time.monotonic_ns() - started) / 1e9
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
