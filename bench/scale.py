#!/usr/bin/python3
"""bench/scale: one election with many zkelect candidates.

Starts --candidates daemons in one election on a 3-server ensemble, all at
once (each with a start hook that stamps CLOCK_MONOTONIC into one shared
file), and times until all of them are registered: the election's children,
as the bench's own ZooKeeper session lists them every 10 ms, number
--candidates. Then --changes times, SIGTERM to the leader, and per change:

- SIGTERM -> the successor's start hook begins;
- the leader's node deleted -> every remaining candidate's /leader names the
  successor (and -> half of them do; and SIGTERM -> all do). The deletion is
  when the bench's own session's exists watch fires (as in bench/failover),
  or the first answer if that came earlier: no candidate can name the
  successor before the deletion, but the bench's Python client, next to
  hundreds of daemons on two cores, may see it late. Before the signal, one `GET /leader?wait=60s` is parked on each
  remaining daemon (bench/tools/longpoll.c, one epoll thread, the kernel's
  receive time of each answer; a response that does not name the successor's
  node is re-polled at once from the index it carries, as a client would);
- the ZooKeeper requests the change caused, counted on the servers (sum of
  `mntr` zk_packets_received over the three servers, during a window of
  --window seconds from the SIGTERM, minus the same window's count while
  nothing changes, which is the sessions' pings and zkelect's own liveness
  reads). The long-polls are HTTP: they add no ZooKeeper request.

Usage: bench/scale [--candidates N] [--changes K] [--window S] [--json FILE]
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402
from failover import NodeWatch  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

ELECTION = "/bench/scale"


def new_stamps(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    return offset + end, [(l.split()[0], int(l.split()[1])) for l in data[:end].decode().splitlines()]


def in_line(zk):
    """The election's children, lowest sequence number first."""
    return sorted(zk.get_children(ELECTION), key=lambda n: n[-10:])


class LeaderPolls:
    """One parked `GET /leader?wait=60s` on each of `daemons`, answered when
    the body names `node` (bench/tools/longpoll.c)."""

    def __init__(self, tool, wd, daemons, node):
        base = os.path.join(wd.path, "leader-polls")
        self.ready, self.out = base + ".ready", base + ".out"
        for f in (self.ready, self.out):
            open(f, "w").close()
        with open(self.out, "wb") as out:
            self.proc = bl.Proc([tool, "127.0.0.1", ",".join(str(d.port) for d in daemons),
                                 "/leader?wait=60s", "0", str(len(daemons)), self.ready,
                                 '"%s"' % node], base + ".log", stdout=out)
        bl.wait_for("%d parked /leader long-polls" % len(daemons),
                    lambda: os.path.getsize(self.ready) > 0, 60, poll=0.05)

    def answers_ns(self, timeout):
        """Each daemon's answer time (CLOCK_MONOTONIC ns), None where none came."""
        self.proc.popen.wait(timeout)
        with open(self.out) as f:
            return [int(ns) if status == "200" else None
                    for status, ns, _ in (line.split() for line in f if line.strip())]


def registration(args, zk, launch):
    """Starts every candidate at once; returns (ns to spawn them all, ns until
    all are registered), both from just before the first spawn."""
    t0 = time.monotonic_ns()
    for i in range(args.candidates):
        launch(i)
    spawned = time.monotonic_ns() - t0

    def all_registered():
        return zk.exists(ELECTION) and len(zk.get_children(ELECTION)) == args.candidates

    bl.wait_for("%d registered candidates" % args.candidates, all_registered, 600, poll=0.01)
    return spawned, time.monotonic_ns() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--session-timeout", type=float, default=4.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    wd = bl.Workdir("scale")
    ens = zk = None
    daemons = {}
    try:
        stamp, longpoll = bl.build_stamp(wd), bl.build_longpoll(wd)
        stamps = os.path.join(wd.path, "starts")
        open(stamps, "w").close()
        ens = bl.ZkEnsemble(wd)
        ens.start()
        zk = KazooClient(hosts=ens.connect, timeout=10.0)
        zk.start(timeout=20)

        def launch(i):
            ident = "n%03d" % i
            # max_waiters 2: a re-poll may arrive before the answered poll's slot is free.
            daemons[ident] = bl.Zkelect(wd, ident, ens.connect, ELECTION, args.session_timeout,
                                        ["--http.max_waiters", "2",
                                         "--hooks.on_start", json.dumps([stamp, stamps, ident])]
                                        ).start()

        bl.log("starting %d candidates at once" % args.candidates)
        spawned_ns, registered_ns = registration(args, zk, launch)
        bl.log("%d candidates registered %.0f ms after the first spawn (spawning took %.0f ms)"
               % (args.candidates, registered_ns / 1e6, spawned_ns / 1e6))
        for d in daemons.values():
            d.wait_ready(120)
        def first_stamps():
            offset, got = new_stamps(stamps, 0)
            return (offset, got) if got else None

        offset, lines = bl.wait_for("the first leader's start hook", first_stamps, 30)
        leader = lines[-1][0]
        time.sleep(args.window)
        # The quiet baseline: packets over one window while nothing changes.
        baselines = []
        for _ in range(2):
            r0 = ens.packets()[0]
            time.sleep(args.window)
            baselines.append(ens.packets()[0] - r0)
        baseline = min(baselines)
        results = []
        for k in range(args.changes):
            line = in_line(zk)
            others = [d for ident, d in daemons.items() if ident != leader]
            polls = LeaderPolls(longpoll, wd, others, line[1])
            watch = NodeWatch(zk, "%s/%s" % (ELECTION, line[0]))
            r0 = ens.packets()[0]
            t0 = time.monotonic_ns()
            os.kill(daemons[leader].proc.pid, signal.SIGTERM)

            def successor():
                nonlocal offset
                offset, got = new_stamps(stamps, offset)
                return got[0] if got else None

            who, t1 = bl.wait_for("a successor", successor, 30, poll=0.005)
            deleted = watch.deleted_ns(timeout=30)
            answers = polls.answers_ns(timeout=120)
            rest = args.window - (time.monotonic_ns() - t0) / 1e9
            if rest > 0:
                time.sleep(rest)
            caused = ens.packets()[0] - r0 - baseline
            missing = sum(a is None for a in answers)
            known = sorted((a - t0) / 1e6 for a in answers if a is not None)  # ms from SIGTERM
            watched = (deleted - t0) / 1e6 if deleted is not None else None
            gone = min([w for w in (watched,) if w is not None] + known[:1])
            results.append({"latency_ms": (t1 - t0) / 1e6, "requests": caused, "successor": who,
                            "watch_deleted_ms": watched, "deleted_ms": gone,
                            "first_know_ms": known[0] if known else None,
                            "half_know_ms": bl.percentile(known, 50) if known else None,
                            "all_know_ms": known[-1] if known and not missing else None,
                            "unanswered": missing})
            bl.log("change %d: %s -> %s in %.1f ms; node deleted at %.1f ms (the bench's watch:"
                   " %s); all %d /leader name it at %s ms, half at %.1f; %d requests beyond the"
                   " baseline" % (k + 1, leader, who, (t1 - t0) / 1e6, gone,
                                  "%.1f" % watched if watched is not None else "none",
                                  len(answers), "%.1f" % known[-1] if not missing
                                  else "never (%d unanswered)" % missing,
                                  results[-1]["half_know_ms"] or 0, caused))
            daemons[leader].proc.popen.wait(10)
            del daemons[leader]
            leader = who
        report(args, baseline, results, spawned_ns, registered_ns)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"candidates": args.candidates, "baseline": baseline,
                           "spawned_ms": spawned_ns / 1e6, "registered_ms": registered_ns / 1e6,
                           "changes": results}, f, indent=1)
    finally:
        for d in daemons.values():
            d.proc.stop(signal.SIGKILL, timeout=2)
        if zk:
            zk.stop()
            zk.close()
        if ens:
            ens.stop()
        wd.close()


def report(args, baseline, results, spawned_ns, registered_ns):
    n = args.candidates
    lat = bl.summary_ms([int(r["latency_ms"] * 1e6) for r in results])
    req = sorted(r["requests"] for r in results)
    complete = [r for r in results if r["all_know_ms"] is not None]
    answered = [r["all_know_ms"] - r["deleted_ms"] for r in complete]
    signalled = [r["all_know_ms"] for r in complete]
    half = [r["half_know_ms"] - r["deleted_ms"] for r in results if r["half_know_ms"] is not None]
    lines = ["", "#### Scale: %d candidates in one election, %d leader changes (SIGTERM)" % (
        n, args.changes), "",
             "| measure | value |", "|---|---|",
             "| all %d started at once -> all registered (the election's children) | %.0f ms"
             " (spawning them took %.0f ms: the last spawn -> all registered %.0f ms) |" % (
                 n, registered_ns / 1e6, spawned_ns / 1e6, (registered_ns - spawned_ns) / 1e6),
             "| SIGTERM -> successor's start hook begins | p50 %.1f ms, max %.1f ms |" % (
                 lat["p50"], lat["max"])]
    if answered:
        lines.append("| leader's node deleted -> every remaining candidate's /leader names the"
                     " successor | p50 %.1f ms, max %.1f ms%s |" % (
                         bl.percentile(answered, 50), max(answered),
                         "" if len(complete) == len(results) else
                         " (%d changes left a poll unanswered)" % (len(results) - len(complete))))
        lines.append("| SIGTERM -> every remaining candidate's /leader names the successor"
                     " | p50 %.1f ms, max %.1f ms |" % (bl.percentile(signalled, 50), max(signalled)))
    if half:
        lines.append("| leader's node deleted -> half of them do | p50 %.1f ms, max %.1f ms |" % (
            bl.percentile(half, 50), max(half)))
    lines += ["| ZooKeeper requests per change (beyond a quiet %.0fs window of %d) | median %d,"
              " min %d, max %d |" % (args.window, baseline, req[len(req) // 2], req[0], req[-1]),
              "| ... per remaining candidate | %.2f |" % (req[len(req) // 2] / (n - 1))]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
