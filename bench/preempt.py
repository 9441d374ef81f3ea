#!/usr/bin/python3
"""bench/preempt: how long a preferred node that joins takes to lead.

Starts --followers zkelect candidates of priority 0 on a 3-server ensemble,
all with election.preempt on and --delay as election.preempt_delay, and a
start hook that stamps CLOCK_MONOTONIC into one shared file. Then --rounds
times: a candidate of priority 10 (same settings) is started; the bench's
own ZooKeeper session sees its node created (a children watch; the kazoo
event thread's CLOCK_MONOTONIC time), and its start hook stamps when it
leads. Per round:

- node created -> its start hook began (the figure of issue 17 point 2),
  and the same minus the delay (what preemption itself costs: the leader's
  reads after the delay, its stop hook, delete, the yields of the nodes in
  between, the claim and the spawn of the hook);
- spawn of the preferred daemon -> its start hook began.

Each round starts its own --followers daemons (a fresh election under its
own path), so that no round inherits another's state: a leader whose
preemption bounced (the lead came back to it within a minute, as it would
here when the preferred node is stopped) waits twice the delay the next
time. After each round every daemon gets SIGTERM.

Usage: bench/preempt [--rounds N] [--delay S] [--followers N] [--json FILE]
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

ELECTION = "/bench/preempt"


class Stamps:
    """The shared stamp file: "IDENT <ns>" lines, read as they come."""

    def __init__(self, path):
        self.path, self.offset = path, 0
        open(path, "w").close()

    def next_of(self, ident, timeout):
        def found():
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self.offset += end
            for line in data[:end].decode().splitlines():
                who, ns = line.split()
                if ident is None or who == ident:
                    return who, int(ns)
            return None
        return bl.wait_for("a start hook of %s" % (ident or "any node"), found, timeout, poll=0.002)


class Joins:
    """The bench session's children watch: when each new node was seen."""

    def __init__(self, zk, path):
        self.lock = threading.Lock()
        self.seen = {}
        self.zk, self.path = zk, path
        zk.ensure_path(path)
        self.watch()

    def watch(self, event=None):
        now = time.monotonic_ns()
        children = self.zk.get_children(self.path, watch=self.watch)
        with self.lock:
            for child in children:
                self.seen.setdefault(child, now)

    def created_after(self, known, since_ns):
        """The first node seen at or after since_ns that was not in `known`."""
        with self.lock:
            fresh = [(ns, c) for c, ns in self.seen.items() if c not in known and ns >= since_ns]
        return min(fresh) if fresh else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--delay", type=float, default=1.0, help="election.preempt_delay, seconds")
    ap.add_argument("--followers", type=int, default=2)
    ap.add_argument("--session-timeout", type=float, default=4.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    wd = bl.Workdir("preempt")
    ens = zk = None
    daemons = []
    try:
        stamp = bl.build_stamp(wd)
        stamps = Stamps(os.path.join(wd.path, "starts"))
        ens = bl.ZkEnsemble(wd)
        ens.start()
        zk = KazooClient(hosts=ens.connect, timeout=10.0)
        zk.start(timeout=20)
        def daemon(ident, priority, path):
            return bl.Zkelect(wd, ident, ens.connect, path, args.session_timeout,
                              ["--election.priority", str(priority), "--election.preempt", "true",
                               "--election.preempt_delay", "%gs" % args.delay,
                               "--hooks.on_start", json.dumps([stamp, stamps.path, ident])])

        results = []
        for k in range(args.rounds):
            path = "%s/r%03d" % (ELECTION, k)
            joins = Joins(zk, path)
            daemons = []
            for i in range(args.followers):
                daemons.append(daemon("r%03d-f%d" % (k, i), 0, path).start())
                daemons[-1].wait_ready(30)
            stamps.next_of(daemons[0].ident, 30)
            known = set(zk.get_children(path))
            preferred = daemon("r%03d-p" % k, 10, path)
            daemons.append(preferred)
            spawned = time.monotonic_ns()
            preferred.start()
            _, started = stamps.next_of(preferred.ident, 60)
            created = joins.created_after(known, spawned)
            if created is None:
                raise bl.BenchError("round %d: the preferred node's creation was not seen" % k)
            node_ms = (started - created[0]) / 1e6
            results.append({"node_to_start_ms": node_ms,
                            "beyond_delay_ms": node_ms - args.delay * 1000,
                            "spawn_to_start_ms": (started - spawned) / 1e6})
            bl.log("round %d: node created -> start hook %.1f ms (%.1f ms beyond the delay);"
                   " spawn -> start %.1f ms" % (k, node_ms, results[-1]["beyond_delay_ms"],
                                                results[-1]["spawn_to_start_ms"]))
            bl.stop_all(*(d.proc for d in daemons if d.proc))
            daemons = []

        def stat(key):
            values = sorted(r[key] for r in results)
            return {"p50": bl.percentile(values, 50), "p99": bl.percentile(values, 99),
                    "max": values[-1]}

        summary = {"rounds": args.rounds, "delay_s": args.delay, "followers": args.followers,
                   "node_to_start_ms": stat("node_to_start_ms"),
                   "beyond_delay_ms": stat("beyond_delay_ms"),
                   "spawn_to_start_ms": stat("spawn_to_start_ms")}
        print(json.dumps(summary, indent=1))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"summary": summary, "rounds": results}, f, indent=1)
    finally:
        bl.stop_all(*(d.proc for d in daemons if d.proc))
        if zk:
            zk.stop()
        if ens:
            ens.stop()
        wd.close()


if __name__ == "__main__":
    main()
