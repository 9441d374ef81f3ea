#!/usr/bin/env python3
"""Jepsen-style fault-injection run of zkelect (issue 4 items 1-3).

    sudo python3 tests/faults/harness.py --zkelect build/release/zkelect \
        --hook build/release/tests/faults/fault_hook_logger \
        --zk-children build/release/tests/faults/fault_zk_children \
        --seed 1 --duration 2m

A real 3-server ZooKeeper ensemble and N zkelect daemons, each in its own
network namespace (netlab.py), a sampler of every daemon's /is-leader every
10 ms (sampler.py), and faults drawn from the seed (faults.py), one at a time:
inject, hold, restore, wait for ZooKeeper to serve again (the heal), wait for a
leader, a quiet pause, the next. At the end every daemon gets SIGTERM in turn,
the election path is listed, and checker.py judges the run directory. Exit
status: 0 when the checker finds no violation, 1 on a violation or a harness
error, 77 when not run as root (network namespaces need it).

Everything the run leaves is in --out (default /tmp/zkelect-faults-<prefix>):
events.jsonl, hooks.log, samples.txt, run.json, each daemon's and server's
log. Namespaces and processes are removed on exit, even on failure or
SIGINT/SIGTERM; leftovers of a run killed with SIGKILL are removed by the next.

Priorities (design rule 13), none by default:

    --priorities 0,0,1,5,10   each daemon's election.priority, drawn from the
                              list (a generator of its own: the faults are
                              the same as without)
    --priority-reload         adds the fault kind priority_reload: a daemon's
                              priority redrawn and changed by a live reload
    --preempt [--preempt-delay 2s]
                              election.preempt = true (a build that knows it)

With priorities, after the first leader and after each fault's leader the
harness records whether the leader is of the highest priority among the
running daemons ("priority_leader"); with --preempt it first waits up to
preempt_delay + session_timeout + 2 s for that to hold (checker (i)), after a
priority_reload also the re-check interval (--recheck-interval, default
zkelect's 30s): a leader sees a follower's reloaded priority only then.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
import netlab  # noqa: E402
from daemons import HTTP_PORT, DaemonSet  # noqa: E402
from faults import KINDS, PRIORITY_KINDS, FaultBag, Injector, Plan  # noqa: E402
from zk_servers import ZkEnsemble  # noqa: E402

SKIP_EXIT = 77
ZK_START_TIMEOUT_S = 90
ZK_HEAL_TIMEOUT_S = 60
FIRST_LEADER_TIMEOUT_S = 30
DAEMON_RECHECK_S = 30  # zkelect's default election.recheck_interval
SHUTDOWN_TIMEOUT_S = 20


class Interrupted(Exception):
    pass


def parse_duration(text):
    """"90s", "2m", "1h30m", "250ms" -> seconds (float)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 90s, 30m, 1h)")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


class EventLog:
    """events.jsonl: one JSON object a line, "t" in CLOCK_MONOTONIC ns."""

    def __init__(self, path, verbose=True):
        self._file = open(path, "a", buffering=1)
        self._start = time.monotonic_ns()
        self._verbose = verbose

    def __call__(self, ev, **fields):
        now = time.monotonic_ns()
        self._file.write(json.dumps({"t": now, "ev": ev, **fields}) + "\n")
        if self._verbose:
            detail = " ".join(f"{k}={v}" for k, v in fields.items())
            print(f"[{(now - self._start) / 1e9:8.3f}s] {ev} {detail}", flush=True)


class Run:
    """One run: builds the lab, drives the faults, always tears down."""

    def __init__(self, options):
        self.o = options
        self.lab = netlab.NetLab()
        self.run_dir = options.out or f"/tmp/zkelect-faults-{self.lab.prefix}"
        self.zk = None
        self.daemon_set = None
        self.sampler = None
        self.rng = random.Random(options.seed)

    def execute(self):
        self._fresh_run_dir()
        self.emit = EventLog(os.path.join(self.run_dir, "events.jsonl"))
        # Maps the daemons' log times (wall clock) onto this time line.
        self.emit("clock", wall_ns=time.time_ns())
        self._write_params()
        try:
            self._build()
            self._drive()
            self._shut_down()
        finally:
            self._tear_down()

    def _fresh_run_dir(self):
        """Empties the run directory: a ZooKeeper data directory left by an
        earlier run would bring back its sessions and nodes."""
        if os.path.isdir(self.run_dir) and os.listdir(self.run_dir):
            if not os.path.exists(os.path.join(self.run_dir, "run.json")):
                raise RuntimeError(f"{self.run_dir} is not empty and not a run directory")
            shutil.rmtree(self.run_dir)
        os.makedirs(self.run_dir)

    def _write_params(self):
        o = self.o
        params = {"seed": o.seed, "duration_s": o.duration, "daemons": o.daemons,
                  "session_timeout_ms": o.session_timeout_ms, "sample_ms": o.sample_ms,
                  "start_hook_ms": o.start_hook_ms, "stop_hook_ms": o.stop_hook_ms,
                  "election_path": o.election_path, "kinds": o.kinds,
                  "priorities": o.priorities, "preempt": o.preempt,
                  "recheck_interval_s": o.recheck_interval,
                  "preempt_delay_ms": int(o.preempt_delay * 1000) if o.preempt else None,
                  "prefix": self.lab.prefix,
                  "command": " ".join(sys.argv)}
        with open(os.path.join(self.run_dir, "run.json"), "w") as f:
            json.dump(params, f, indent=2)

    def _build(self):
        self.emit("run_start", prefix=self.lab.prefix, seed=self.o.seed, dir=self.run_dir)
        self.lab.create_bridge()
        self.zk = ZkEnsemble(self.lab, self.run_dir)
        self.daemon_set = DaemonSet(self.lab, self.run_dir, self.o, self.zk.connect_string(),
                                    self.emit)
        # From here on the harness talks to the nodes over br0 only.
        self.lab.enter_bridge()
        for server in self.zk.servers:
            self.zk.start(server)
        if not self.zk.wait_serving(ZK_START_TIMEOUT_S):
            raise RuntimeError(f"ZooKeeper ensemble not serving within {ZK_START_TIMEOUT_S}s")
        self.emit("zk_serving")
        self._start_sampler()
        for daemon in self.daemon_set.daemons:
            self.daemon_set.start(daemon)
        if not self._wait_leader(FIRST_LEADER_TIMEOUT_S):
            raise RuntimeError(f"no leader within {FIRST_LEADER_TIMEOUT_S}s of the start")
        self.emit("ready")
        self._check_priority_leader(0, None)

    def _start_sampler(self):
        targets = [f"{d.id}={d.address}:{HTTP_PORT}" for d in self.daemon_set.daemons]
        sampler_py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler.py")
        self.sampler = subprocess.Popen(
            [sys.executable, sampler_py, os.path.join(self.run_dir, "samples.txt"),
             str(self.o.sample_ms), *targets], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def _stop_sampler(self):
        if self.sampler is None or self.sampler.poll() is not None:
            return None
        self.sampler.send_signal(signal.SIGTERM)
        out, _ = self.sampler.communicate(timeout=10)
        lines = out.decode().strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def _wait_leader(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_health()
            leaders = self.daemon_set.leaders()
            if leaders:
                return leaders
            time.sleep(0.05)
        return []

    def _check_priority_leader(self, n, kind):
        """With priorities: is the leader of the highest priority among the
        running daemons? With preemption, waits for it (bounded) first: the
        delay (doubled by bounces, as the leader's /status says), plus after
        a reload the leader's next re-check (a margin: since the leader reads
        the ranks under data watches it sees a reload at once)."""
        if not self.o.priorities:
            return
        st_s = self.o.session_timeout_ms / 1000
        bound_s = self.o.preempt_delay + st_s + 2 if self.o.preempt else 0
        if self.o.preempt and kind == "priority_reload":
            bound_s += self.o.recheck_interval or DAEMON_RECHECK_S
        begin = time.monotonic()
        backoff_s = 0.0
        while True:
            self._check_health()
            running = [d for d in self.daemon_set.daemons
                       if d.running() and not d.paused and not d.expected_down]
            leaders = self.daemon_set.leaders()
            leader = leaders[0] if leaders else None
            if not running:
                return
            top = max(running, key=lambda d: d.priority)
            ok = leader is not None and leader.priority >= top.priority
            if not ok and leader is not None and self.o.preempt:
                # A preemption that bounced (the lead came back to the
                # leader within 5 minutes: the preferred node failed, or a
                # fault took it) doubles the leader's next delay, by design
                # (README "Preemption"): its /status says by how much.
                status = leader.status() or {}
                effective_ms = (status.get("preempt") or {}).get("effective_delay_ms") or 0
                backoff_s = max(backoff_s, effective_ms / 1000 - self.o.preempt_delay)
            if ok or time.monotonic() - begin >= bound_s + backoff_s:
                break
            time.sleep(0.1)
        self.emit("priority_leader", n=n, leader=leader.id if leader else None,
                  leader_priority=leader.priority if leader else None,
                  top=top.id, top_priority=top.priority,
                  waited_s=round(time.monotonic() - begin, 3), backoff_s=round(backoff_s, 3),
                  ok=ok)

    def _check_health(self):
        """Records daemons that died by themselves (violation (e)) and stops
        the run if a ZooKeeper server died by itself (a harness problem)."""
        self.daemon_set.check_unexpected_exits()
        died = self.zk.died()
        if died:
            raise RuntimeError(f"ZooKeeper server(s) {[s.myid for s in died]} exited by themselves")

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            self._check_health()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    def _drive(self):
        injector = Injector(self.lab, self.zk, self.daemon_set, self.emit,
                            self.o.session_timeout_ms / 1000, self._list_children)
        bag = FaultBag(self.rng, self.o.kinds)
        st_s = self.o.session_timeout_ms / 1000
        bound_s = st_s + 2
        end = time.monotonic() + self.o.duration
        n = 0
        while time.monotonic() < end:
            n += 1
            plan = Plan(bag.next(), self.rng, st_s, len(self.daemon_set.daemons),
                        len(self.zk.servers), self.o.priorities)
            injector.inject_and_restore(n, plan)
            if not self.zk.wait_serving(ZK_HEAL_TIMEOUT_S):
                raise RuntimeError(f"fault {n}: ZooKeeper not serving {ZK_HEAL_TIMEOUT_S}s after "
                                   "the restore")
            self.emit("fault_healed", n=n)
            leaders = self._wait_leader(bound_s + 10)
            self.emit("leader_seen" if leaders else "leader_missing", n=n,
                      leaders=[d.id for d in leaders])
            self._check_priority_leader(n, plan.kind)
            self._sleep(plan.quiet_s)
        self.emit("faults_done", count=n)

    def _shut_down(self):
        """SIGTERM to every daemon in turn (a handoff each time the leader
        goes), then lists the election path: it must be empty (check (d))."""
        self.emit("shutdown_begin")
        order = list(self.daemon_set.daemons)
        self.rng.shuffle(order)
        for daemon in order:
            self._check_health()
            code = self.daemon_set.terminate(daemon, SHUTDOWN_TIMEOUT_S)
            self.emit("daemon_term", id=daemon.id, code=code)
            time.sleep(0.3)
        self.emit("children", names=self._list_children())
        self.emit("sampler_stats", **(self._stop_sampler() or {}))
        self.emit("run_end")

    def _list_children(self):
        """The names under the election path (waits for a serving ensemble)."""
        listing = subprocess.run([self.o.zk_children, self.zk.connect_string(),
                                  self.o.election_path], capture_output=True, text=True,
                                 timeout=60, check=False)
        if listing.returncode != 0:
            raise RuntimeError(f"listing {self.o.election_path} failed: {listing.stderr.strip()}")
        return listing.stdout.split()

    def _tear_down(self):
        # A second Ctrl-C must not cut the cleanup short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        try:
            self._stop_sampler()
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.sampler.kill()
        if self.daemon_set:
            for daemon in self.daemon_set.daemons:
                daemon.set_healthy(True)
                if daemon.running():
                    daemon.process.kill()
                    daemon.process.wait(timeout=10)
        if self.zk:
            self.zk.shutdown()
        self.lab.destroy()


def _raise_interrupted(signum, _frame):
    raise Interrupted(f"signal {signum}")


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad list {text!r} (e.g. 0,0,1,5,10)") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"negative priority in {text!r}")
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--duration", type=parse_duration, default=parse_duration("2m"),
                        help="time spent injecting faults (e.g. 2m, 30m)")
    parser.add_argument("--daemons", type=int, default=3)
    parser.add_argument("--session-timeout", type=parse_duration, default=3.0,
                        help="zkelect's zk.session_timeout (default 3s)")
    parser.add_argument("--sample-ms", type=int, default=10)
    parser.add_argument("--start-hook-ms", type=int, default=10)
    parser.add_argument("--stop-hook-ms", type=int, default=100,
                        help="stop hook duration; must stay under session_timeout/2")
    parser.add_argument("--kinds", type=lambda text: text.split(","), default=list(KINDS),
                        help=f"comma-separated fault kinds to draw from (default: all of "
                             f"{','.join(KINDS)}; {','.join(PRIORITY_KINDS)} needs "
                             "--priorities)")
    parser.add_argument("--priorities", type=_int_list, default=None,
                        help="comma-separated election.priority values, one drawn per daemon "
                             "(e.g. 0,0,1,5,10); default: no priority (as before)")
    parser.add_argument("--priority-reload", action="store_true",
                        help="also draw the fault kind priority_reload (needs --priorities)")
    parser.add_argument("--preempt", action="store_true",
                        help="election.preempt = true (needs --priorities and a zkelect "
                             "that knows the key)")
    parser.add_argument("--preempt-delay", type=parse_duration, default=2.0,
                        help="election.preempt_delay with --preempt (default 2s)")
    parser.add_argument("--recheck-interval", type=parse_duration, default=None,
                        help="election.recheck_interval (default: zkelect's, 30s); with "
                             "--preempt a leader sees a reloaded priority only at its re-check")
    parser.add_argument("--election-path", default="/zkelect-faults")
    parser.add_argument("--zkelect", required=True)
    parser.add_argument("--hook", required=True, help="the fault_hook_logger binary")
    parser.add_argument("--zk-children", required=True, help="the fault_zk_children binary")
    parser.add_argument("--out", default=None, help="run directory")
    options = parser.parse_args(argv)
    if options.seed is None:
        options.seed = random.SystemRandom().randrange(1, 1 << 31)
    if options.priority_reload and "priority_reload" not in options.kinds:
        options.kinds.append("priority_reload")
    unknown = set(options.kinds) - set(KINDS) - set(PRIORITY_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    if not options.priorities and (options.preempt or set(options.kinds) & set(PRIORITY_KINDS)):
        parser.error("--preempt and priority_reload need --priorities")
    options.session_timeout_ms = int(options.session_timeout * 1000)
    for name in ("zkelect", "hook", "zk_children"):
        setattr(options, name, os.path.abspath(getattr(options, name)))
    return options


def main(argv):
    options = parse_args(argv)
    if os.geteuid() != 0:
        print("harness: SKIPPED: needs root (ip netns, nft)", file=sys.stderr)
        return SKIP_EXIT
    for tool in ("ip", "nft", "java"):
        if shutil.which(tool) is None:
            print(f"harness: {tool} is missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupted)
    netlab.clean_leftovers()
    run = Run(options)
    print(f"harness: seed {options.seed}, duration {options.duration:.0f}s, run dir {run.run_dir}",
          flush=True)
    try:
        run.execute()
    except (RuntimeError, Interrupted, OSError, subprocess.SubprocessError) as error:
        print(f"harness: ERROR: {error}", file=sys.stderr)
        print(checker.report(run.run_dir)[0])
        return 1
    summary, violations = checker.report(run.run_dir)
    print(summary)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
