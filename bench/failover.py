#!/usr/bin/python3
"""bench/failover: leader handoff and crash failover of zkelect and its peers.

For each system (zkelect, Curator LeaderLatch, kazoo Election, etcd's mutex
through `etcdctl lock`) three participants take part in one election. A round
signals the current leader's process and measures, on CLOCK_MONOTONIC, the
time from just before kill(2) to the moment the successor's start hook /
leadership callback begins (it writes its own timestamp):

  graceful  the peer's own graceful stop: SIGTERM (zkelect, Curator, kazoo),
            SIGINT for etcdctl (its only handled signal)
  crash     SIGKILL: the successor waits for the session/lease to lapse

Rounds are interleaved (round r: every system graceful, then every system
crash, in an order rotated each round) so that background load hits all
systems alike. One real 3-server ZooKeeper ensemble serves zkelect, Curator
and kazoo with the same session timeout; etcd (a 3-member cluster, the same
replication) runs with the same lease TTL.

Two more systems take part in the graceful rounds: "floor" (bench/tools/floor.c,
the ZooKeeper steps of a handoff on the C client and nothing else) and
"zkelect-poll" (zkelect without hooks; the successor begins when a parked
/is-leader long-poll on it answers). The report puts zkelect against the floor.
On request (--systems), "zkelect-start-only": zkelect with a start hook and
no stop hook, the floor's counterpart, to show what the stop hook adds;
"floor-with-stop": the floor whose leader spawns the stamp tool ("stop")
and waits for it before its delete, zkelect-with-both-hooks' counterpart;
and "zkelect-start-only-b", the same as zkelect-start-only with the binary
$ZKELECT_BIN_B, to compare two builds in the same rounds.

A graceful round is quick, a crash round waits out the session timeout: with
--graceful-rounds above --rounds, the rounds past --rounds are graceful only,
so that p99 is not simply the largest of 30 samples (nearest rank: with 100
samples p99 is the second largest).

Before the measured rounds, --warmup unmeasured graceful rounds per system
let the JVMs (ZooKeeper's servers, Curator) compile their hot paths.

Usage: bench/failover [--rounds N] [--graceful-rounds N] [--session-timeout SECONDS]
                      [--tick-ms MS] [--watch-deletion KINDS] [--json FILE]
"""
import abc
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import ConnectionLoss, KazooException  # noqa: E402
from kazoo.protocol.states import EventType  # noqa: E402

CURATOR_JARS = ["curator-recipes", "curator-framework", "curator-client", "zookeeper",
                "zookeeper-jute", "guava", "slf4j-api", "slf4j-nop"]


class StampFile:
    """A participant's timestamp file, read incrementally."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        open(path, "a").close()

    def new_lines(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines
        self.offset += end
        lines = []
        for line in data[:end].decode().splitlines():
            label, _, ns = line.partition(" ")
            lines.append((label, int(ns)))
        return lines


class System(abc.ABC):
    """Three participants of one election implementation; subclasses say how
    to start one participant and how to count the registered candidates."""

    name = ""
    graceful_signal = signal.SIGTERM
    kinds = ("graceful", "crash")  # the kinds of round this system takes part in
    stops_graceful = False  # its old leader stamps "stop" in every graceful round

    def __init__(self, workdir, session_s):
        self.workdir = workdir
        self.session_s = session_s
        self.dir = workdir.sub(self.name)
        self.stamps = [StampFile(os.path.join(self.dir, "stamp-%d" % i)) for i in range(3)]
        self.procs = [None, None, None]
        self.marks = {}  # slot -> {label: ns} of the stamps other than "start"
        self.leader = None

    @abc.abstractmethod
    def spawn(self, slot):  # -> bl.Proc
        """Starts the participant of `slot`."""

    @abc.abstractmethod
    def candidates(self):  # -> int
        """How many participants are registered in the election now."""

    def watch_leader_node(self):
        """Something whose deleted_ns() is when the leader's registration
        vanished, as seen by the bench's own session; None where there is
        no such thing to watch (etcd)."""
        return None

    def start(self, slot):
        self.stamps[slot].new_lines()  # forget what an earlier incarnation wrote
        self.procs[slot] = self.spawn(slot)

    def poll_start(self, exclude):
        """(slot, ns) of the first new "start" stamp of a slot other than exclude.
        Other stamps ("stop": zkelect's stop hook, Curator's notLeader; the
        floor's "notified" and "listed") go to self.marks."""
        for slot, stamp in enumerate(self.stamps):
            for label, ns in stamp.new_lines():
                if label != "start":
                    self.marks.setdefault(slot, {})[label] = ns
                elif slot != exclude:
                    return slot, ns
        return None

    def arm(self, old):
        """Called just before the leader (slot old) is signalled."""

    def disarm(self):
        """Called once the round has its successor."""

    def bring_up(self):
        self.start(0)
        found = bl.wait_for("%s: a first leader" % self.name, lambda: self.poll_start(None), 60)
        self.leader = found[0]
        self.start(1)
        self.start(2)
        self.wait_full()

    def wait_full(self):
        bl.wait_for("%s: 3 live candidates" % self.name,
                    lambda: all(p.alive() for p in self.procs) and self.candidates() == 3,
                    60, poll=0.05)

    def round(self, kind, watch_deletion=True):
        """One failover. Returns its moments on CLOCK_MONOTONIC (ns): t0 just
        before the signal, t1 the successor's start stamp, and where seen,
        stop (the old leader's stop stamp) and deleted (its node's deletion
        reached the bench's session); with the old and the new slot."""
        old = self.leader
        for s in self.stamps:
            s.new_lines()
        self.marks = {}
        signo = self.graceful_signal if kind == "graceful" else signal.SIGKILL
        self.arm(old)
        watch = self.watch_leader_node() if watch_deletion else None
        t0 = time.monotonic_ns()
        os.kill(self.procs[old].pid, signo)
        found = bl.wait_for("%s: a successor after %s" % (self.name, kind),
                            lambda: self.poll_start(old), self.session_s * 3 + 15, poll=0.005)
        slot, t1 = found
        self.disarm()
        self.poll_start(None)  # the old leader's stop stamp, if not read yet
        stop = self.marks.get(old, {}).get("stop")
        if kind == "graceful" and self.stops_graceful and stop is None:
            # Its stop step failed or was skipped: the round measured something else.
            raise bl.BenchError("%s: the old leader left no stop stamp" % self.name)
        successor = self.marks.get(slot, {})
        deleted = watch.deleted_ns(timeout=2) if watch else None
        self.leader = slot
        self.procs[old].stop(signal.SIGKILL, timeout=10)  # graceful ones exit on their own
        self.start(old)
        self.wait_full()
        return {"t0": t0, "t1": t1, "stop": stop, "deleted": deleted, "old": old, "new": slot,
                "notified": successor.get("notified"), "listed": successor.get("listed")}

    def stop(self):
        for p in self.procs:
            if p:
                p.stop(signal.SIGKILL, timeout=5)


class NodeWatch:
    """An exists-watch of the bench's own ZooKeeper session on one znode: the
    CLOCK_MONOTONIC time its deletion was delivered (kazoo's event thread)."""

    def __init__(self, zk, path):
        self.event = threading.Event()
        self.ns = None
        if zk.exists(path, watch=self.fired) is None:
            self.event.set()  # already gone: nothing to time

    def fired(self, event):
        if event.type == EventType.DELETED:
            self.ns = time.monotonic_ns()
        self.event.set()

    def deleted_ns(self, timeout):
        self.event.wait(timeout)
        return self.ns


class ZkElection:
    """One system's election znode as the bench's session sees it. Each recipe
    ends its candidates' names with the ten-digit sequence number."""

    def __init__(self, zk, path):
        self.zk, self.path = zk, path

    def children(self):
        return self.zk.get_children(self.path) if self.zk.exists(self.path) else []

    def count(self):
        """How many candidates; -1 while the bench's session is between
        servers (kazoo reconnects by itself: ask again)."""
        try:
            return len(self.children())
        except ConnectionLoss:
            return -1

    def watch_leader(self):
        names = self.children()
        if not names:
            return None
        lowest = min(names, key=lambda n: n[-10:])
        return NodeWatch(self.zk, "%s/%s" % (self.path, lowest))


class ZkSystem(System):
    """A system that elects through ZooKeeper: its leader's node is watched."""

    def __init__(self, workdir, session_s, ens, zk, path):
        super().__init__(workdir, session_s)
        self.ens, self.election_path = ens, path
        self.election = ZkElection(zk, path)

    def candidates(self):
        return self.election.count()

    def watch_leader_node(self):
        return self.election.watch_leader()


class ZkelectSystem(ZkSystem):
    name = "zkelect"
    hooks = ("start", "stop")  # each one the stamp tool, writing its name
    prefix = "z"  # of the daemons' ids
    binary_variable = "ZKELECT_BIN"

    def __init__(self, workdir, session_s, ens, zk, stamp):
        super().__init__(workdir, session_s, ens, zk, "/bench/" + self.name)
        self.stamp_tool = stamp
        self.stops_graceful = "stop" in self.hooks

    def spawn(self, slot):
        path = self.stamps[slot].path
        extra = []
        for hook in self.hooks:
            extra += ["--hooks.on_" + hook, json.dumps([self.stamp_tool, path, hook])]
        d = bl.Zkelect(self.workdir, "%s%d" % (self.prefix, slot), self.ens.connect,
                       self.election_path, self.session_s, extra=extra,
                       binary=bl.zkelect_binary(self.binary_variable))
        return d.start().proc


class ZkelectStartOnlySystem(ZkelectSystem):
    """zkelect with a start hook and no stop hook: the floor's counterpart
    (the floor has no stop hook), which shows what zkelect's stop hook,
    ending before the delete (design rule 12), adds to the handoff."""

    name = "zkelect-start-only"
    hooks = ("start",)
    prefix = "s"


class ZkelectStartOnlyBSystem(ZkelectStartOnlySystem):
    """zkelect-start-only with the binary $ZKELECT_BIN_B: an A/B comparison
    of two builds in the same rounds."""

    name = "zkelect-start-only-b"
    prefix = "t"
    binary_variable = "ZKELECT_BIN_B"


class ZkelectPollSystem(ZkSystem):
    """zkelect without hooks, as a program that long-polls its daemon sees a
    handoff: before the signal, each follower's daemon has a parked
    `GET /is-leader?index=<its index>&wait=60s` (bench/tools/longpoll.c, the
    kernel's receive time of the answer); the successor begins when its
    answer says `"leader":true`."""

    name = "zkelect-poll"
    kinds = ("graceful",)

    def __init__(self, workdir, session_s, ens, zk, longpoll):
        super().__init__(workdir, session_s, ens, zk, "/bench/zkelect-poll")
        self.longpoll = longpoll
        self.daemons = [None, None, None]
        self.pollers = {}  # slot -> (bl.Proc, its output file)

    def spawn(self, slot):
        self.daemons[slot] = bl.Zkelect(self.workdir, "p%d" % slot, self.ens.connect,
                                        self.election_path, self.session_s).start()
        return self.daemons[slot].proc

    def arm(self, old):
        for slot, d in enumerate(self.daemons):
            if slot == old:
                continue
            status, body = bl.http_get(d.url("/is-leader"))
            if status != 503:
                raise bl.BenchError("%s: follower %d answers /is-leader with %s %r"
                                    % (self.name, slot, status, body))
            base = os.path.join(self.dir, "poll-%d" % slot)
            for f in (base + ".ready", base + ".out"):
                open(f, "w").close()
            with open(base + ".out", "wb") as out:
                p = bl.Proc([self.longpoll, "127.0.0.1", str(d.port), "/is-leader?wait=60s",
                             str(json.loads(body)["index"]), "1", base + ".ready",
                             '"leader":true'], base + ".log", stdout=out)
            self.pollers[slot] = (p, base)
        bl.wait_for("%s: parked long-polls" % self.name,
                    lambda: all(os.path.getsize(base + ".ready") > 0
                                for _, base in self.pollers.values()), 10, poll=0.02)

    def poll_start(self, exclude):
        if not self.pollers:  # bring-up: no poll is parked, ask each daemon
            for slot, d in enumerate(self.daemons):
                if slot != exclude and d and bl.http_get(d.url("/is-leader"))[0] == 200:
                    return slot, 0
            return None
        for slot, (_, base) in self.pollers.items():
            with open(base + ".out") as f:
                fields = f.read().split()
            if len(fields) == 3 and fields[0] == "200":
                return slot, int(fields[1])
        return None

    def disarm(self):
        for p, _ in self.pollers.values():
            p.stop(signal.SIGKILL, timeout=2)
        self.pollers = {}


class FloorSystem(ZkSystem):
    """The floor: bench/tools/floor.c, the ZooKeeper steps of a handoff on the
    C client and nothing else (see there). Its start stamp is the same stamp
    tool's, spawned the same way as zkelect's start hook; it also stamps
    when its watch fired ("notified") and when its listing and the read of
    its own node were answered ("listed", just before the spawn)."""

    name = "floor"
    kinds = ("graceful",)

    def __init__(self, workdir, session_s, ens, zk, floor, stamp):
        super().__init__(workdir, session_s, ens, zk, "/bench/" + self.name)
        self.floor, self.stamp_tool = floor, stamp

    extra = []  # floor.c's arguments after STAMP_TOOL
    prefix = "f"

    def spawn(self, slot):
        argv = [self.floor, self.ens.connect, self.election_path,
                str(int(self.session_s * 1000)), self.stamps[slot].path,
                self.stamp_tool] + self.extra
        return bl.Proc(argv, os.path.join(self.dir, "%s%d.log" % (self.prefix, slot)))


class FloorWithStopSystem(FloorSystem):
    """The floor with a stop step: the leader spawns the stamp tool ("stop")
    and waits for it to exit before it deletes its node, as zkelect's stop
    hook ends before its delete (design rule 12). The counterpart of zkelect
    with both hooks, as the floor is of zkelect-start-only."""

    name = "floor-with-stop"
    extra = ["stop"]
    prefix = "w"
    stops_graceful = True


class CuratorSystem(ZkSystem):
    name = "curator"

    def __init__(self, workdir, session_s, ens, zk):
        super().__init__(workdir, session_s, ens, zk, "/bench/curator")
        classes = workdir.sub("curator-classes")
        self.classpath = ":".join(["/usr/share/java/%s.jar" % j for j in CURATOR_JARS] + [classes])
        subprocess.run(["javac", "-d", classes, "-cp", self.classpath,
                        os.path.join(bl.BENCH, "peers", "CuratorParticipant.java")], check=True)

    def spawn(self, slot):
        argv = [bl.JAVA] + bl.JAVA_FLAGS + ["-Xmx64m", "-cp", self.classpath, "CuratorParticipant",
                                             self.ens.connect, self.election_path, "c%d" % slot,
                                             str(int(self.session_s * 1000)),
                                             self.stamps[slot].path]
        return bl.Proc(argv, os.path.join(self.dir, "c%d.log" % slot))


class KazooSystem(ZkSystem):
    name = "kazoo"

    def __init__(self, workdir, session_s, ens, zk):
        super().__init__(workdir, session_s, ens, zk, "/bench/kazoo")

    def spawn(self, slot):
        argv = ["/usr/bin/python3", os.path.join(bl.BENCH, "peers", "kazoo_participant.py"),
                self.ens.connect, self.election_path, "k%d" % slot, str(self.session_s),
                self.stamps[slot].path]
        return bl.Proc(argv, os.path.join(self.dir, "k%d.log" % slot))


class EtcdSystem(System):
    """etcd's concurrency mutex via `etcdctl lock --ttl` (etcdctl 3.4's `elect`
    has no TTL flag: its session TTL is fixed at 60 s). The key line etcdctl
    prints once it holds the lock goes through a pipe to `stamp --lines`."""

    name = "etcd"
    graceful_signal = signal.SIGINT

    def __init__(self, workdir, session_s, etcd, stamp):
        super().__init__(workdir, session_s)
        self.etcd, self.stamp_tool = etcd, stamp
        self.readers = [None, None, None]

    def spawn(self, slot):
        log = os.path.join(self.dir, "e%d.log" % slot)
        p = bl.Proc(["etcdctl", "--endpoints", self.etcd.endpoint, "lock",
                     "--ttl", str(max(1, round(self.session_s))), "bench-etcd"],
                    log, env=dict(os.environ, ETCDCTL_API="3"), stdout=subprocess.PIPE)
        if self.readers[slot]:
            self.readers[slot].stop(signal.SIGKILL, timeout=2)
        self.readers[slot] = bl.Proc([self.stamp_tool, "--lines", self.stamps[slot].path, "start"],
                                     log + ".reader", stdin=p.popen.stdout)
        p.popen.stdout.close()
        return p

    def candidates(self):
        r = self.etcd.etcdctl("get", "--prefix", "--keys-only", "bench-etcd")
        return len([line for line in r.stdout.splitlines() if line.strip()])

    def stop(self):
        super().stop()
        for r in self.readers:
            if r:
                r.stop(signal.SIGKILL, timeout=2)


def record(samples, kind, moments):
    """Adds one round's latencies (ns) to one system's samples."""
    t0, t1, stop, deleted = (moments[k] for k in ("t0", "t1", "stop", "deleted"))
    samples[kind].append(t1 - t0)
    for mark in ("stop", "notified", "listed"):
        if moments.get(mark) is not None:
            samples[mark + "_" + kind].append(moments[mark] - t0)
    if deleted is not None:
        samples["deleted_" + kind].append(deleted - t0)
        samples["after_deleted_" + kind].append(t1 - deleted)


def spawn_cost(stamp):
    out = subprocess.run([stamp, "--spawn-cost", "200"], capture_output=True, text=True,
                         check=True).stdout.split()
    return bl.summary_ms([int(v) for v in out])


def fmt_row(name, s):
    return "| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (name, s["n"], s["p50"], s["p90"], s["p99"],
                                                        s["max"])


def against_floor(results):
    """zkelect's graceful handoff against the floor's, at p50 and p99: the
    hook path (zkelect's start hook begins vs the floor's spawned stamp), the
    same against floor-with-stop (both with a stop step before the delete)
    and zkelect-start-only against the floor (both without), and the
    long-poll path (the parked /is-leader answer of zkelect-poll vs the
    moment the floor knows it leads: its listing and own read answered).
    Each row only where both of its systems ran."""
    floor = results.get("floor") or {}
    with_stop = results.get("floor-with-stop") or {}
    pairs = [("hook path: start hook begins", "zkelect", floor, "graceful",
              "floor: its stamp tool begins"),
             ("hook path with a stop hook: start hook begins", "zkelect", with_stop, "graceful",
              "floor-with-stop: its stamp tool begins"),
             ("start hook only: start hook begins", "zkelect-start-only", floor, "graceful",
              "floor: its stamp tool begins"),
             ("long-poll path: /is-leader answers", "zkelect-poll", floor, "listed_graceful",
              "floor: listing and own read answered"),
             ("long-poll path: /is-leader answers", "zkelect-poll", floor, "notified_graceful",
              "floor: its watch fires")]
    rows = []
    for path, system, base, base_kind, base_moment in pairs:
        if not results.get(system, {}).get("graceful") or not base.get(base_kind):
            continue
        z, f = bl.summary_ms(results[system]["graceful"]), bl.summary_ms(base[base_kind])
        rows.append("| %s | %.2f | %.2f | %s | %.2f | %.2f | %.2fx | %.2fx |" % (
            path, z["p50"], z["p99"], base_moment, f["p50"], f["p99"], z["p50"] / f["p50"],
            z["p99"] / f["p99"]))
    if not rows:
        return []
    lines = ["", "#### Against the floor (graceful, in this run), ms", "",
             "| path | zkelect p50 | p99 | floor moment | floor p50 | p99 "
             "| zkelect / floor p50 | p99 |", "|---|---|---|---|---|---|---|---|"] + rows
    if floor.get("graceful"):
        f = bl.summary_ms(floor["graceful"])
        peers = [(name, bl.summary_ms(r["graceful"])) for name, r in results.items()
                 if name != "floor" and r["graceful"]]  # floor-with-stop among them
        lines += ["", "| system | p50 / floor p50 | p99 / floor p99 |", "|---|---|---|"]
        for name, s in peers:
            lines.append("| %s | %.2fx | %.2fx |" % (name, s["p50"] / f["p50"],
                                                     s["p99"] / f["p99"]))
    return lines


def report(results, session_s, hook_cost):
    lines = []
    for kind, title in (("graceful", "Graceful handoff (signal -> successor begins), ms"),
                        ("crash", "Crash failover (SIGKILL -> successor begins), ms, "
                                  "session timeout / TTL %gs" % session_s)):
        stats = {name: bl.summary_ms(r[kind]) for name, r in results.items() if r[kind]}
        if not stats:
            continue
        lines += ["", "#### " + title, "", "| system | rounds | p50 | p90 | p99 | max |",
                  "|---|---|---|---|---|---|"]
        for name, s in stats.items():
            lines.append(fmt_row(name, s))
        if "zkelect" in stats:
            z = stats["zkelect"]
            lines += ["", "| peer | peer p50 / zkelect p50 | peer p99 / zkelect p99 |",
                      "|---|---|---|"]
            for name, s in stats.items():
                if name not in ("zkelect", "zkelect-poll", "floor", "floor-with-stop"):
                    lines.append("| %s | %.2fx | %.2fx |" % (name, s["p50"] / z["p50"],
                                                             s["p99"] / z["p99"]))
    lines += against_floor(results)
    split = [(name, bl.summary_ms(r["stop_graceful"]), bl.summary_ms(r["graceful"]))
             for name, r in results.items() if r["stop_graceful"] and r["graceful"]]
    if split:
        lines += ["", "Graceful handoff split at the old leader's stop stamp (zkelect: its stop "
                      "hook begins), p50 ms:", "",
                  "| system | signal -> old leader's stop begins | stop begins -> successor begins |",
                  "|---|---|---|"]
        for name, stop, total in split:
            lines.append("| %s | %.2f | %.2f |" % (name, stop["p50"], total["p50"] - stop["p50"]))
    deletion = [(name, kind, bl.summary_ms(r["deleted_" + kind]),
                 bl.summary_ms(r["after_deleted_" + kind]))
                for kind in ("graceful", "crash") for name, r in results.items()
                if r["deleted_" + kind]]
    if deletion:
        lines += ["", "Split at the old leader's node deletion, as the bench's own ZooKeeper "
                      "session saw it (an exists watch on that node), ms:", "",
                  "| system | kind | rounds | signal -> node deleted, p50 | max "
                  "| node deleted -> successor begins, p50 | p99 | max |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, kind, gone, after in deletion:
            lines.append("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                name, kind, gone["n"], gone["p50"], gone["max"], after["p50"], after["p99"],
                after["max"]))
    lines += ["", "Hook start cost (posix_spawn of the static stamp tool -> its first clock "
                  "reading, 200 runs): p50 %.2f ms, p99 %.2f ms, max %.2f ms"
              % (hook_cost["p50"], hook_cost["p99"], hook_cost["max"])]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--graceful-rounds", type=int,
                    help="graceful rounds (default: --rounds); those past --rounds are "
                         "graceful only")
    ap.add_argument("--tick-ms", type=int, default=50,
                    help="the ZooKeeper servers' tickTime: a crashed client's session ends "
                         "up to 1.5 ticks after its timeout (see ZkEnsemble)")
    ap.add_argument("--session-timeout", type=float, default=2.0,
                    help="ZooKeeper session timeout and etcd lease TTL, seconds")
    ap.add_argument("--systems", default="zkelect,zkelect-poll,floor,curator,kazoo,etcd")
    ap.add_argument("--etcd-members", type=int, default=3,
                    help="etcd cluster size (3: the same replication as ZooKeeper's ensemble)")
    ap.add_argument("--kinds", default="graceful,crash")
    ap.add_argument("--warmup", type=int, default=2,
                    help="unmeasured graceful rounds per system first (the JVMs' JIT)")
    ap.add_argument("--watch-deletion", default="graceful,crash",
                    help="the kinds of round to split at the old leader's node deletion "
                         "(\"\" for none): the bench's own session watches that node")
    ap.add_argument("--json", help="write raw samples (ns) here")
    args = ap.parse_args()
    # Every zkelect binary named, before anything starts.
    for name in args.systems.split(","):
        if name == "zkelect-start-only-b":
            bl.zkelect_binary("ZKELECT_BIN_B")
        elif name.startswith("zkelect"):
            bl.zkelect_binary()

    wd = bl.Workdir("failover")
    ens = etcd = zk = None
    systems = []
    floor = None  # bench/tools/floor.c, built once for both floor systems
    try:
        stamp = bl.build_stamp(wd)
        ens = bl.ZkEnsemble(wd, tick_ms=args.tick_ms)
        ens.start()
        zk = KazooClient(hosts=ens.connect, timeout=10.0)
        zk.start(timeout=20)
        wanted = args.systems.split(",")
        for name in wanted:
            if name == "zkelect":
                systems.append(ZkelectSystem(wd, args.session_timeout, ens, zk, stamp))
            elif name == "zkelect-start-only":
                systems.append(ZkelectStartOnlySystem(wd, args.session_timeout, ens, zk, stamp))
            elif name == "zkelect-start-only-b":
                systems.append(ZkelectStartOnlyBSystem(wd, args.session_timeout, ens, zk, stamp))
            elif name == "zkelect-poll":
                systems.append(ZkelectPollSystem(wd, args.session_timeout, ens, zk,
                                                 bl.build_longpoll(wd)))
            elif name in ("floor", "floor-with-stop"):
                floor = floor or bl.build_floor(wd)
                cls = FloorSystem if name == "floor" else FloorWithStopSystem
                systems.append(cls(wd, args.session_timeout, ens, zk, floor, stamp))
            elif name == "curator":
                systems.append(CuratorSystem(wd, args.session_timeout, ens, zk))
            elif name == "kazoo":
                systems.append(KazooSystem(wd, args.session_timeout, ens, zk))
            elif name == "etcd":
                etcd = bl.Etcd(wd, members=args.etcd_members)
                etcd.start()
                systems.append(EtcdSystem(wd, args.session_timeout, etcd, stamp))
            else:
                raise bl.BenchError("unknown system %r" % name)
        for s in systems:
            bl.log("starting %s participants" % s.name)
            s.bring_up()
        for _ in range(args.warmup):
            for s in systems:
                s.round("graceful")
        kinds = args.kinds.split(",")
        results = {s.name: {k + "_" + kind if k else kind: []
                            for kind in ("graceful", "crash")
                            for k in ("", "stop", "notified", "listed", "deleted",
                                      "after_deleted")}
                   for s in systems}
        wanted_rounds = {k: args.rounds for k in kinds}
        if "graceful" in kinds and args.graceful_rounds is not None:
            wanted_rounds["graceful"] = args.graceful_rounds
        total = max(wanted_rounds.values())
        stopped_early = None
        for r in range(total):
            order = systems[r % len(systems):] + systems[:r % len(systems)]
            this_round = [k for k in kinds if r < wanted_rounds[k]]
            try:
                for kind in this_round:
                    for s in order:
                        if kind not in s.kinds:
                            continue
                        record(results[s.name], kind,
                               s.round(kind, watch_deletion=kind in args.watch_deletion.split(",")))
                        time.sleep(0.2)  # let the restarted participant settle
            except (bl.BenchError, KazooException) as e:
                # What was measured until then is still reported, and says so.
                stopped_early = "round %d of %d failed (%s: %s)" % (r + 1, total,
                                                                   type(e).__name__, e)
                bl.log(stopped_early)
                break
            bl.log("round %d/%d: %s" % (r + 1, total, ", ".join(
                "%s %s" % (s.name, "/".join("%.1f" % (results[s.name][k][-1] / 1e6)
                                            for k in this_round if k in s.kinds))
                for s in systems)))
        hook_cost = spawn_cost(stamp)
        if stopped_early:
            print("\n**This run stopped early**: %s; the tables hold the rounds before." %
                  stopped_early)
        print(report(results, args.session_timeout, hook_cost))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"session_timeout_s": args.session_timeout, "samples_ns": results,
                           "hook_start_cost_ms": hook_cost}, f, indent=1)
    finally:
        bl.stop_all(*systems, zk, etcd, ens)
        wd.close()


if __name__ == "__main__":
    try:
        main()
    except bl.BenchError as e:
        sys.exit("bench/failover: %s" % e)
