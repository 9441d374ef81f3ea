#!/usr/bin/env python3
"""Runs one client example of examples/ beside two real daemons (issue 18, point 3).

    run_example_test.py --zkelect build/release/zkelect --examples examples python

A standalone ZooKeeper on a free loopback port, daemons d1 and d2 (session
timeout 4 s, so a leader fences itself 2 s after it last heard from
ZooKeeper), each listening on TCP loopback and a Unix socket, and one copy
of the example beside each daemon (w1 asks d1, w2 asks d2). Then: d1
resigns, d2 resigns, the leader d1 gets SIGTERM and is started again, d2
resigns so that the restarted d1 leads, d1 gets SIGSTOP (frozen, it cannot
say that it stopped leading: its worker must stop within the lease all the
same) and SIGCONT, d2 resigns so that d1 leads again, and d1 gets SIGKILL (its
worker must stop at once: no answer is not "leader"). After each change the test waits
until the new leader's worker has worked for longer than the lease.

The check, from the daemons' role-change log lines (--log.format json) and
the workers' own logs ("<unix time> begin unit N" / "... end unit N"): every
unit of a worker begins while its daemon leads, and ends at most the fencing
lease (session_timeout / 2) after that leadership ended. It prints the lag
of every start and stop. Exit 0 passed, 1 failed, 77 skipped (a toolchain
is missing: the reason is printed on a line starting with "SKIPPED:").
Python 3 standard library only.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIPPED = 77
SESSION_TIMEOUT_S = 4
LEASE_S = SESSION_TIMEOUT_S / 2
# Daemon log times are truncated to the millisecond, workers' rounded.
CLOCK_TOLERANCE_S = 0.005
# Bounds that only catch a hang (a busy 2-core machine, a JVM starting).
STEP_TIMEOUT_S = 60
# How long each new leader's worker works before the next change: longer than
# the lease, so that a worker whose gate stays open after its daemon stopped
# leading (or went away) works past the lease and fails the check.
WORK_FOR_S = LEASE_S + 0.5
JAVA = "/usr/bin/java"
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
SLF4J_SIMPLE_JAR = "/usr/share/java/slf4j-simple.jar"
UNIT_LINE = re.compile(r"^(\d+(?:\.\d+)?) (begin|end) unit (\d+)\s*$")


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what, timeout_s=STEP_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise Failure(f"timed out after {timeout_s}s waiting for {what}")


def log_time(iso):
    """Seconds since the epoch of a daemon log time like 2026-12-07T12:00:01.234Z."""
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


# ---------------------------------------------------------------------------
# The examples: how to run each (after building it, if it needs that)


def require(tool, package):
    path = shutil.which(tool)
    if path is None:
        raise Skip(f"{tool} not found: install {package} (scripts/install-deps.sh)")
    return path


def example_argv(name, examples, scratch):
    """The command that runs example `name`; raises Skip if its toolchain is absent."""
    if name == "python":
        return ["/usr/bin/python3", os.path.join(examples, "python", "leader_worker.py")]
    if name == "go":
        go = require("go", "golang-go")
        binary = os.path.join(scratch, "leader_worker")
        env = dict(os.environ, GOCACHE=os.path.join(scratch, "gocache"),
                   GOPATH=os.path.join(scratch, "gopath"), GOFLAGS="", GO111MODULE="on",
                   GOPROXY="off", CGO_ENABLED="0")
        built = subprocess.run([go, "build", "-o", binary,
                                os.path.join(examples, "go", "leader_worker.go")],
                               env=env, cwd=scratch, capture_output=True, text=True,
                               timeout=600)
        if built.returncode != 0:
            raise Failure(f"go build of the Go example failed:\n{built.stdout}{built.stderr}")
        return [binary]
    if name == "node":
        return [require("node", "nodejs"), os.path.join(examples, "node", "leader_worker.js")]
    if name == "java":
        if not os.access("/usr/bin/javac", os.X_OK):
            raise Skip("javac not found: install default-jdk-headless (scripts/install-deps.sh)")
        return [JAVA, os.path.join(examples, "java", "LeaderWorker.java")]
    if name == "shell":
        require("curl", "curl")
        return ["/bin/sh", os.path.join(examples, "shell", "leader-worker.sh")]
    raise Failure(f"unknown example {name!r}: expected python, go, node, java or shell")


# ---------------------------------------------------------------------------
# Processes: ZooKeeper, daemons, workers


class ZooKeeper:
    """A standalone ZooKeeper server on a free loopback port."""

    def __init__(self, scratch):
        if not os.access(ZOOKEEPER_JAR, os.R_OK):
            raise Skip(f"{ZOOKEEPER_JAR} not found: install zookeeper (scripts/install-deps.sh)")
        self.port = free_port()
        self.dir = os.path.join(scratch, "zk")
        os.makedirs(os.path.join(self.dir, "data"))
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write(f"tickTime=200\nminSessionTimeout=400\nmaxSessionTimeout=10000\n"
                    f"dataDir={self.dir}/data\nclientPort={self.port}\n"
                    f"clientPortAddress=127.0.0.1\n4lw.commands.whitelist=srvr\n"
                    f"admin.enableServer=false\nforceSync=no\npreAllocSize=1024\n")
        classpath = "/etc/zookeeper/conf:" + ZOOKEEPER_JAR
        if os.access(SLF4J_SIMPLE_JAR, os.R_OK):
            classpath += ":" + SLF4J_SIMPLE_JAR
        env = dict(os.environ)
        env.pop("JAVA_TOOL_OPTIONS", None)
        with open(os.path.join(self.dir, "zookeeper.out"), "wb") as log:
            self.process = subprocess.Popen(
                [JAVA, f"-Dzookeeper.log.dir={self.dir}", "-Djava.net.preferIPv4Stack=true",
                 "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
                 "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                 os.path.join(self.dir, "zoo.cfg")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        wait_for(self._serving, f"ZooKeeper serving on 127.0.0.1:{self.port}")

    def _serving(self):
        if self.process.poll() is not None:
            raise Failure(f"ZooKeeper exited ({self.process.returncode}): see {self.dir}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                return b"Mode: standalone" in s.makefile("rb").read()
        except OSError:
            return False

    def stop(self):
        stop_process(self.process)


def stop_process(process, sig=signal.SIGTERM, timeout_s=30):
    """Signals the process group of `process` and reaps it; its exit status."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return process.wait()


class Daemon:
    """One zkelect daemon: TCP loopback on a fixed port and a Unix socket,
    both the same across restarts; its log (JSON lines) appends."""

    def __init__(self, daemon_id, zkelect, zk_port, election, scratch):
        self.id = daemon_id
        self.port = free_port()
        self.socket = os.path.join(scratch, f"{daemon_id}.sock")
        self.log_path = os.path.join(scratch, f"{daemon_id}.log")
        self.argv = [zkelect, "run", "--config", "", "--id", daemon_id,
                     "--zk.servers", f"127.0.0.1:{zk_port}",
                     "--zk.session_timeout", f"{SESSION_TIMEOUT_S}s",
                     "--election.path", election,
                     "--http.listen", f"127.0.0.1:{self.port},unix:{self.socket}",
                     "--log.format", "json"]
        self.process = None
        self.killed_at = []  # when a process of this daemon got SIGKILL or SIGSTOP

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: self.request("GET", "/readyz") == 200, f"{self.id} ready")

    def stop(self):
        """SIGTERM; its exit status."""
        return stop_process(self.process)

    def kill(self):
        """SIGKILL: a crash, whose leadership ends without a log line."""
        self.killed_at.append(time.time())
        stop_process(self.process, signal.SIGKILL)

    def freeze(self):
        """SIGSTOP (a VM pause): its leadership ends for its worker there,
        since it cannot answer any more; it logs the end only once thawed."""
        self.killed_at.append(time.time())
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        """SIGCONT after freeze()."""
        os.killpg(self.process.pid, signal.SIGCONT)

    def request(self, method, path):
        """The status of `method path` over TCP, or None when it cannot be asked."""
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request(method, path)
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return None

    def leads(self):
        return self.request("GET", "/is-leader") == 200

    def resign(self):
        status = self.request("POST", "/resign")
        if status != 200:
            raise Failure(f"POST /resign on {self.id} answered {status}, expected 200")

    def leaderships(self):
        """[start, end] of each leadership in the log (end None: still leading)."""
        terms = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                fields = entry.get("fields", {})
                if fields.get("event") != "role_change":
                    continue
                when = log_time(entry["time"])
                if fields.get("to") == "leader":
                    terms.append([when, None])
                elif fields.get("from") == "leader" and terms and terms[-1][1] is None:
                    terms[-1][1] = when
        for term in terms:  # a leadership that a SIGKILL or SIGSTOP ended
            cut = next((t for t in self.killed_at if t > term[0]), None)
            if cut is not None and (term[1] is None or cut < term[1]):
                term[1] = cut
        return terms


class Worker:
    """A copy of the example beside one daemon; its stdout is its log."""

    def __init__(self, argv, daemon, scratch, path_dir):
        self.daemon = daemon
        self.log_path = os.path.join(scratch, f"worker-{daemon.id}.log")
        env = dict(os.environ, ZKELECT_SOCKET=daemon.socket,
                   ZKELECT_URL=f"http://127.0.0.1:{daemon.port}",
                   PATH=path_dir + os.pathsep + os.environ.get("PATH", ""))
        env.pop("JAVA_TOOL_OPTIONS", None)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, cwd=scratch,
                                            start_new_session=True)
        self.stopped_at = None

    def units(self):
        """[begin, end] of each unit (end None: not ended in the log)."""
        begun = {}
        units = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                match = UNIT_LINE.match(line)
                if not match:
                    continue
                when, what, number = float(match[1]), match[2], match[3]
                if what == "begin":
                    begun[number] = len(units)
                    units.append([when, None])
                elif number in begun:
                    units[begun[number]][1] = when
        return units

    def worked_since(self, since):
        """True once the worker has worked for WORK_FOR_S, from a unit begun after `since`."""
        units = [u for u in self.units() if u[0] >= since]
        return bool(units) and any(end is not None and end >= units[0][0] + WORK_FOR_S
                                   for _, end in units)

    def expect_work(self, since):
        def working():
            if self.process.poll() is not None:
                raise Failure(f"the worker beside {self.daemon.id} exited "
                              f"({self.process.returncode}):\n{tail(self.log_path)}")
            return self.worked_since(since)
        wait_for(working, f"the worker beside {self.daemon.id} to work while it leads")

    def stop(self):
        self.stopped_at = time.time()
        stop_process(self.process)


def tail(path, lines=30):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


# ---------------------------------------------------------------------------
# The check


def check(terms, units, stopped_at):
    """Violations (text) and lags of one worker against its daemon.

    terms: [start, end] of each leadership of the daemon (end None: until the
    end of the run); units: [begin, end] of each unit of the worker (end None:
    cut off at `stopped_at`, when the worker was stopped). A unit must begin
    at or after the start of a leadership and end at most LEASE_S after it.
    The lags, one (start, end, start lag, stop lag) per leadership that began
    before the worker was stopped: from its start to the first unit's begin
    and from its end to the last unit's end, in seconds (None: no unit, or
    it did not end before the worker was stopped).
    """
    violations = []
    by_term = [[] for _ in terms]
    for begin, end in units:
        end = stopped_at if end is None else end
        started = [i for i, t in enumerate(terms) if t[0] <= begin + CLOCK_TOLERANCE_S]
        if not started:
            violations.append(f"unit {fmt(begin)}..{fmt(end)} began before its daemon ever led")
            continue
        by_term[started[-1]].append((begin, end))
        start, finish = terms[started[-1]]
        if finish is not None and end > finish + LEASE_S + CLOCK_TOLERANCE_S:
            violations.append(
                f"unit {fmt(begin)}..{fmt(end)} ran {end - finish:.3f}s past the leadership "
                f"{fmt(start)}..{fmt(finish)} (allowed: the fencing lease, {LEASE_S}s)")
    lags = []
    for (start, finish), inside in zip(terms, by_term):
        if start > stopped_at:
            continue  # the run's end: the worker was stopped first
        start_lag = inside[0][0] - start if inside else None
        ended = inside and finish is not None and finish < stopped_at
        lags.append((start, finish, start_lag, inside[-1][1] - finish if ended else None))
    return violations, lags


def report(name, worker, violations, lags):
    """Prints one worker's lags and violations."""
    print(f"{name} worker beside {worker.daemon.id}: {len(worker.units())} units, "
          f"log {worker.log_path}")
    for start, finish, start_lag, stop_lag in lags:
        line = f"  leadership {fmt(start)}..{fmt(finish) if finish else 'end'}: "
        if start_lag is None:
            print(line + "no unit")
            continue
        line += f"first unit began {1000 * start_lag:.0f} ms after it started"
        if stop_lag is not None:
            line += f", last unit ended {1000 * stop_lag:.0f} ms after it ended"
        print(line)
    for line in violations[:10]:
        print("  VIOLATION: " + line)
    if len(violations) > 10:
        print(f"  ... and {len(violations) - 10} more violations")


def fmt(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


# ---------------------------------------------------------------------------
# The run


def run(args, scratch):
    argv = example_argv(args.example, os.path.abspath(args.examples), scratch)
    zk = ZooKeeper(scratch)
    daemons, workers = [], []
    try:
        election = f"/examples/{args.example}"
        d1, d2 = (Daemon(i, args.zkelect, zk.port, election, scratch) for i in ("d1", "d2"))
        daemons += [d1, d2]
        d1.start()
        wait_for(d1.leads, "d1 to lead")
        d2.start()
        path_dir = os.path.dirname(os.path.abspath(args.zkelect))
        workers += [Worker(argv, d, scratch, path_dir) for d in daemons]
        w1, w2 = workers
        w1.expect_work(0)

        def hand_over(old, new, new_worker, how):
            since = time.time()
            how()
            wait_for(new.leads, f"{new.id} to lead after {old.id} stopped")
            new_worker.expect_work(since)

        hand_over(d1, d2, w2, d1.resign)
        hand_over(d2, d1, w1, d2.resign)

        def terminate_d1():
            status = d1.stop()
            if status != 0:
                raise Failure(f"d1 exited {status} on SIGTERM, expected 0")
        hand_over(d1, d2, w2, terminate_d1)
        d1.start()  # the worker beside it must pick it up again
        hand_over(d2, d1, w1, d2.resign)
        # A frozen daemon (SIGSTOP, a VM pause) cannot say that it stopped
        # leading: its worker must stop within the lease all the same.
        hand_over(d1, d2, w2, d1.freeze)
        d1.thaw()
        wait_for(lambda: d1.request("GET", "/readyz") == 200, "d1 back after SIGCONT")
        hand_over(d2, d1, w1, d2.resign)
        # A crash: the worker's poll fails, and d2 leads once ZooKeeper has
        # expired d1's session.
        hand_over(d1, d2, w2, d1.kill)
    finally:
        for worker in workers:
            worker.stop()
        for daemon in daemons:
            if daemon.process is not None and daemon.process.poll() is None:
                daemon.stop()
        zk.stop()

    failed = False
    start_lags, stop_lags = [], []
    for worker in workers:
        violations, lags = check(worker.daemon.leaderships(), worker.units(),
                                 worker.stopped_at)
        report(args.example, worker, violations, lags)
        start_lags += [lag[2] for lag in lags if lag[2] is not None]
        stop_lags += [lag[3] for lag in lags if lag[3] is not None]
        failed = failed or bool(violations)
    if start_lags and stop_lags:
        print(f"{args.example} lag: work began {1000 * min(start_lags):.0f} to "
              f"{1000 * max(start_lags):.0f} ms after its daemon started leading (the longest "
              f"after a worker's start or a daemon's restart), and ended at most "
              f"{1000 * max(stop_lags):.0f} ms after it stopped leading (allowed: the "
              f"lease, {1000 * LEASE_S:.0f} ms)")
    if failed:
        raise Failure("a worker worked while its daemon was not leader "
                      f"(past the fencing lease of {LEASE_S}s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zkelect", required=True, help="the zkelect binary")
    parser.add_argument("--examples", required=True, help="the examples/ directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("example", help="python, go, node, java or shell")
    args = parser.parse_args()
    # A SIGTERM (ctest stopping) unwinds through run(), which stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    scratch = tempfile.mkdtemp(prefix=f"zkelect-example-{args.example}-")
    keep = args.keep
    started = time.monotonic()
    try:
        run(args, scratch)
    except Skip as reason:
        print(f"SKIPPED: {args.example} example: {reason}")
        return SKIPPED
    except Failure as failure:
        keep = True
        print(f"FAILED: {args.example} example: {failure} (scratch: {scratch})")
        for name in sorted(os.listdir(scratch)):
            if name.endswith(".log"):
                print(f"--- {name} (last lines)\n{tail(os.path.join(scratch, name))}")
        return 1
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"passed: {args.example} example in {time.monotonic() - started:.1f}s")
    return 0

if __name__ == "__main__":
    sys.exit(main())
