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

Per change it also reads every remaining daemon's own count of ZooKeeper
requests (/metrics zkelect_zk_requests_total, the liveness `sync` left out)
before the signal and after the window, and splits them by role: the
successor, the daemons that yielded their place on the way (their node was
created again), and the followers (all the others).

Priorities (design rule 13): --priorities takes one or more modes,
comma-separated, each run as its own phase on the same ensemble (a fresh
election, fresh daemons), one after the other:

  none     no election.priority (the default; the measurement as before)
  random   each candidate's priority drawn from {0,0,1,5,10} (--seed)
  spread   candidate i of N has priority N/2 - |i - N/2|: the highest in the
           middle of the joining order, every other value twice

With priorities the successor is the remaining candidate of the highest
priority (ties by sequence), which the bench reads from the nodes' data
before the signal (its own reads are outside the counted window); the nodes
in line before it yield their places one after another. After the changes,
one more candidate of priority 0 joins (the cost of a join, same split by
role); with --preempt (election.preempt = true, --preempt-delay), one of a
priority above all the others joins next, and the time until it leads and
the requests of that preemption are measured too.

Usage: bench/scale [--candidates N] [--changes K] [--window S] [--json FILE]
                   [--priorities none,random,spread] [--seed N] [--preempt]
                   [--preempt-delay S] [--recheck-interval D]
"""
import argparse
import collections
import concurrent.futures
import json
import os
import random
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402
from failover import NodeWatch  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

ELECTION = "/bench/scale"
MODES = ("none", "random", "spread")


def new_stamps(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    return offset + end, [(l.split()[0], int(l.split()[1])) for l in data[:end].decode().splitlines()]


def in_line(zk, election=ELECTION):
    """The election's children, lowest sequence number first."""
    return sorted(zk.get_children(election), key=lambda n: n[-10:])


def priorities_of(mode, n, seed):
    """Each candidate's election.priority (None: no flag), by spawn index."""
    if mode == "none":
        return [None] * n
    if mode == "random":
        rng = random.Random(seed)
        return [rng.choice((0, 0, 1, 5, 10)) for _ in range(n)]
    return [n // 2 - abs(i - n // 2) for i in range(n)]


REQUEST_LINE = re.compile(r'^zkelect_zk_requests_total\{([^}]*)\} (\S+)$', re.M)


def zk_requests(daemon):
    """The daemon's ZooKeeper requests so far by op, the liveness `sync` left
    out; None if /metrics did not answer."""
    status, body = bl.http_get(daemon.url("/metrics"), timeout=10)
    if status != 200:
        return None
    counts = collections.Counter()
    for labels, value in REQUEST_LINE.findall(body.decode()):
        op = re.search(r'op="([^"]+)"', labels).group(1)
        if op != "sync":
            counts[op] += int(float(value))
    return counts


def scrape(daemons):
    """{ident: Counter of requests by op} of every daemon that answered."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = dict(zip(daemons, pool.map(zk_requests, daemons.values())))
    return {ident: c for ident, c in got.items() if c is not None}


def by_role(before, after, successor, gone=()):
    """Splits the requests between two scrapes by role: the successor (or
    None), the yielders (their node created again) and the followers."""
    roles = {"successor": collections.Counter(), "yielders": [], "followers": []}
    for ident, now in after.items():
        if ident in gone or ident not in before:
            continue
        delta = now - before[ident]
        if ident == successor:
            roles["successor"] = delta
        elif delta["create"] > 0:
            roles["yielders"].append(delta)
        else:
            roles["followers"].append(delta)
    f = roles["followers"]
    totals = sorted(sum(c.values()) for c in f)
    return {"successor": dict(roles["successor"]),
            "yields": sum(c["create"] for c in roles["yielders"]),
            "yielders": len(roles["yielders"]),
            "yielder_requests": sum(sum(c.values()) for c in roles["yielders"]),
            "followers": len(f),
            "follower_requests": sum(totals),
            "follower_median": totals[len(totals) // 2] if totals else 0,
            "follower_max": totals[-1] if totals else 0,
            "followers_listing": sum(1 for c in f if c["get_children"] > 0),
            "followers_reading_2plus": sum(1 for c in f if c["get_data"] >= 2)}


def expected_successor(zk, election, line, priority_of_id):
    """The node that will lead after line[0] goes: the highest priority among
    the rest, the lowest sequence among equals (design rule 13)."""
    if all(p is None for p in priority_of_id.values()):
        return line[1]
    best = None
    for node in line[1:]:
        data, _ = zk.get("%s/%s" % (election, node))
        try:
            ident = json.loads(data.decode()).get("id")
        except ValueError:
            ident = None
        p = priority_of_id.get(ident) or 0
        if best is None or p > best[0]:
            best = (p, node)
    return best[1]


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
        return [ns for ns, _ in self.answers(timeout)]

    def answers(self, timeout):
        """(answer ns or None, polls) per daemon: polls is how many /leader
        answers it took (each change of the daemon's view of the leader
        answers a poll; the tool gives up after 20)."""
        self.proc.popen.wait(timeout)
        with open(self.out) as f:
            return [(int(ns) if status == "200" else None, int(polls))
                    for status, ns, polls in (line.split() for line in f if line.strip())]


def registration(args, zk, launch, election=ELECTION):
    """Starts every candidate at once; returns (ns to spawn them all, ns until
    all are registered), both from just before the first spawn."""
    t0 = time.monotonic_ns()
    for i in range(args.candidates):
        launch(i)
    spawned = time.monotonic_ns() - t0

    def all_registered():
        return zk.exists(election) and len(zk.get_children(election)) == args.candidates

    bl.wait_for("%d registered candidates" % args.candidates, all_registered, 600, poll=0.01)
    return spawned, time.monotonic_ns() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--session-timeout", type=float, default=4.0)
    ap.add_argument("--priorities", default="none",
                    help="comma-separated phases, each one of: " + ", ".join(MODES))
    ap.add_argument("--seed", type=int, default=1, help="for --priorities random")
    ap.add_argument("--preempt", action="store_true",
                    help="election.preempt = true in the phases with priorities")
    ap.add_argument("--preempt-delay", type=float, default=2.0, help="seconds")
    ap.add_argument("--recheck-interval", default=None,
                    help="election.recheck_interval of every candidate (default: the daemon's)")
    ap.add_argument("--age", type=float, default=0.0,
                    help="seconds to wait after all registered, before the first change (the"
                         " next in line yields ahead of time only to nodes older than its"
                         " settle: 60 s without preemption)")
    ap.add_argument("--json")
    args = ap.parse_args()
    args.modes = args.priorities.split(",")
    if not args.modes or set(args.modes) - set(MODES):
        ap.error("--priorities: phases among %s" % ", ".join(MODES))
    wd = bl.Workdir("scale")
    ens = zk = None
    try:
        tools = bl.build_stamp(wd), bl.build_longpoll(wd)
        ens = bl.ZkEnsemble(wd)
        ens.start()
        zk = KazooClient(hosts=ens.connect, timeout=10.0)
        zk.start(timeout=20)
        phases = []
        for mode in args.modes:
            phases.append(run_phase(args, mode, wd, ens, zk, tools))
            report(args, phases[-1])
        if len(phases) > 1:
            compare(args, phases)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"candidates": args.candidates, "phases": phases}, f, indent=1)
    finally:
        if zk:
            zk.stop()
            zk.close()
        if ens:
            ens.stop()
        wd.close()


def run_phase(args, mode, wd, ens, zk, tools):
    """One election of --candidates daemons with priorities `mode`: start,
    --changes leader changes, joins. Returns its results."""
    stamp, longpoll = tools
    election = ELECTION if mode == "none" else "%s-%s" % (ELECTION, mode)
    stamps = os.path.join(wd.path, "starts-" + mode)
    open(stamps, "w").close()
    prio = priorities_of(mode, args.candidates, args.seed)
    priority_of_id = {}
    daemons = {}

    def spawn(ident, priority):
        extra = ["--http.max_waiters", "2",
                 "--hooks.on_start", json.dumps([stamp, stamps, ident])]
        if priority is not None:
            extra += ["--election.priority", str(priority)]
            if args.preempt:
                extra += ["--election.preempt", "true",
                          "--election.preempt_delay", "%dms" % int(args.preempt_delay * 1000)]
        if args.recheck_interval:
            extra += ["--election.recheck_interval", args.recheck_interval]
        priority_of_id[ident] = priority
        # max_waiters 2: a re-poll may arrive before the answered poll's slot is free.
        d = bl.Zkelect(wd, ident, ens.connect, election, args.session_timeout, extra)
        if mode != "none":
            d.log_path = os.path.join(wd.sub("zkelect-%s-%s" % (ident, mode)), "zkelect.log")
        daemons[ident] = d.start()

    try:
        bl.log("phase %s: starting %d candidates at once" % (mode, args.candidates))
        spawned_ns, registered_ns = registration(
            args, zk, lambda i: spawn("n%03d" % i, prio[i]), election)
        bl.log("%d candidates registered %.0f ms after the first spawn (spawning took %.0f ms)"
               % (args.candidates, registered_ns / 1e6, spawned_ns / 1e6))
        for d in daemons.values():
            d.wait_ready(120)
        if args.age:
            # Older than the next in line's settle before a yield ahead of
            # time (a minute without preemption): as in a long-lived election.
            bl.log("letting the candidates age %.0f s" % args.age)
            time.sleep(args.age)

        def first_stamps():
            offset, got = new_stamps(stamps, 0)
            return (offset, got) if got else None

        offset, lines = bl.wait_for("the first leader's start hook", first_stamps, 60)
        leader = lines[-1][0]
        if mode != "none":
            # A node that started before the others registered may lead, and
            # with preemption hand over after the delay: wait until no start
            # hook has begun for that long (at most 120 s).
            quiet = 3.0 + (args.preempt_delay if args.preempt else 0)
            last, deadline = time.monotonic(), time.monotonic() + 120
            while time.monotonic() - last < quiet:
                if time.monotonic() > deadline:
                    raise bl.BenchError("the start's leader changes did not settle in 120 s")
                offset, got = new_stamps(stamps, offset)
                if got:
                    leader, last = got[-1][0], time.monotonic()
                time.sleep(0.1)
            bl.wait_for("%s leads" % leader, lambda: len(zk.get_children(
                election)) == args.candidates and bl.http_get(
                    daemons[leader].url("/is-leader"))[0] == 200, 60)
        time.sleep(args.window)
        # The quiet baseline: packets over one window while nothing changes.
        baselines = []
        for _ in range(2):
            r0 = ens.packets()[0]
            time.sleep(args.window)
            baselines.append(ens.packets()[0] - r0)
        baseline = min(baselines)

        def successor():
            nonlocal offset
            offset, got = new_stamps(stamps, offset)
            return got[0] if got else None

        results = []
        for k in range(args.changes):
            line = in_line(zk, election)
            expected = expected_successor(zk, election, line, priority_of_id)
            others = {i: d for i, d in daemons.items() if i != leader}
            before = scrape(others)
            polls = LeaderPolls(longpoll, wd, list(others.values()), expected)
            watch = NodeWatch(zk, "%s/%s" % (election, line[0]))
            r0 = ens.packets()[0]
            t0 = time.monotonic_ns()
            os.kill(daemons[leader].proc.pid, signal.SIGTERM)
            who, t1 = bl.wait_for("a successor", successor, 60, poll=0.005)
            deleted = watch.deleted_ns(timeout=30)
            answered = polls.answers(timeout=120)
            answers = [ns for ns, _ in answered]
            repolls = sorted(n for _, n in answered)
            rest = args.window - (time.monotonic_ns() - t0) / 1e9
            if rest > 0:
                time.sleep(rest)
            caused = ens.packets()[0] - r0 - baseline
            roles = by_role(before, scrape(others), who)
            missing = sum(a is None for a in answers)
            known = sorted((a - t0) / 1e6 for a in answers if a is not None)  # ms from SIGTERM
            watched = (deleted - t0) / 1e6 if deleted is not None else None
            gone = min([w for w in (watched,) if w is not None] + known[:1])
            results.append({"latency_ms": (t1 - t0) / 1e6, "requests": caused, "successor": who,
                            "successor_priority": priority_of_id.get(who),
                            "expected_node": expected, "roles": roles,
                            "leader_polls_median": repolls[len(repolls) // 2],
                            "leader_polls_max": repolls[-1],
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
            bl.log("  by role: successor %s; %d yields by %d daemons (%d requests); %d followers:"
                   " %d requests (median %d, max %d each), %d listed, %d read 2+ nodes; /leader"
                   " answers per daemon until it named the successor: median %d, max %d" % (
                       dict(roles["successor"]), roles["yields"], roles["yielders"],
                       roles["yielder_requests"], roles["followers"], roles["follower_requests"],
                       roles["follower_median"], roles["follower_max"],
                       roles["followers_listing"], roles["followers_reading_2plus"],
                       repolls[len(repolls) // 2], repolls[-1]))
            daemons[leader].proc.popen.wait(10)
            del daemons[leader]
            leader = who
        joins = measure_joins(args, mode, zk, ens, election, daemons, leader, spawn, prio,
                              baseline, successor)
        return {"mode": mode, "priorities": prio, "baseline": baseline, "changes": results,
                "joins": joins, "spawned_ms": spawned_ns / 1e6,
                "registered_ms": registered_ns / 1e6, "preempt": args.preempt and mode != "none"}
    finally:
        # SIGKILL, as before: a SIGTERM each would be a leader change each.
        for d in daemons.values():
            d.proc.stop(signal.SIGKILL, timeout=2)
        if mode != args.modes[-1]:
            time.sleep(args.session_timeout + 2)  # their sessions expire before the next phase


def measure_joins(args, mode, zk, ens, election, daemons, leader, spawn, prio, baseline,
                  successor):
    """One candidate of priority 0 joins (0 for none: no priority); with
    --preempt, then one above all the others. Requests over a window from
    the spawn, split by role; for the preempting join, the time until its
    start hook begins."""
    joins = []
    plan = [("j-low", None if mode == "none" else 0)]
    if args.preempt and mode != "none":
        plan.append(("j-top", max(p for p in prio if p is not None) + 1))
    for ident, priority in plan:
        before = scrape(daemons)
        r0 = ens.packets()[0]
        t0 = time.monotonic_ns()
        spawn(ident, priority)
        # Its own /readyz (registered): the count of children says nothing
        # while nodes ahead of it yield and rejoin.
        joiner = daemons[ident]
        bl.wait_for("%s registered" % ident,
                    lambda: bl.http_get(joiner.url("/readyz"), timeout=1.0)[0] == 200, 30,
                    poll=0.005)
        registered = time.monotonic_ns()
        took_over = None
        if ident == "j-top":
            who, t1 = bl.wait_for("a preemption by %s" % ident, successor,
                                  args.preempt_delay + 30, poll=0.005)
            took_over = {"new_leader": who, "ms_from_spawn": (t1 - t0) / 1e6,
                         "ms_from_registration": (t1 - registered) / 1e6}
        window = args.window + (args.preempt_delay if ident == "j-top" else 0)
        rest = window - (time.monotonic_ns() - t0) / 1e9
        if rest > 0:
            time.sleep(rest)
        caused = ens.packets()[0] - r0 - baseline * window / args.window
        after = scrape(daemons)
        new_leader = took_over["new_leader"] if took_over else None
        roles = by_role(before, after, successor=new_leader, gone=(ident, leader))
        leader_delta = dict(after.get(leader, collections.Counter()) -
                            before.get(leader, collections.Counter()))
        joiner = dict(after.get(ident, collections.Counter()))
        joins.append({"ident": ident, "priority": priority, "requests": round(caused),
                      "leader": leader, "leader_requests": leader_delta, "joiner": joiner,
                      "roles": roles, "preemption": took_over})
        bl.log("join %s (priority %s): %d requests beyond the baseline; leader %s: %s; joiner:"
               " %s; %d yields (%d requests); %d followers: %d requests (max %d each)%s" % (
                   ident, priority, caused, leader, leader_delta, joiner, roles["yields"],
                   roles["yielder_requests"], roles["followers"],
                   roles["follower_requests"], roles["follower_max"],
                   "; %s leads %.0f ms after its spawn" % (took_over["new_leader"],
                                                           took_over["ms_from_spawn"])
                   if took_over else ""))
        if took_over:
            leader = took_over["new_leader"]
    return joins


def report(args, phase):
    n = args.candidates
    results, baseline = phase["changes"], phase["baseline"]
    lat = bl.summary_ms([int(r["latency_ms"] * 1e6) for r in results])
    req = sorted(r["requests"] for r in results)
    complete = [r for r in results if r["all_know_ms"] is not None]
    answered = [r["all_know_ms"] - r["deleted_ms"] for r in complete]
    signalled = [r["all_know_ms"] for r in complete]
    half = [r["half_know_ms"] - r["deleted_ms"] for r in results if r["half_know_ms"] is not None]
    mode = phase["mode"]
    title = {"none": "", "random": ", priorities drawn from {0,0,1,5,10}",
             "spread": ", priorities spread (N/2 - |i - N/2|, highest in the middle)"}[mode]
    if phase["preempt"]:
        title += ", preemption after %gs" % args.preempt_delay
    lines = ["", "#### Scale: %d candidates in one election, %d leader changes (SIGTERM)%s" % (
        n, args.changes, title), "",
             "| measure | value |", "|---|---|",
             "| all %d started at once -> all registered (the election's children) | %.0f ms"
             " (spawning them took %.0f ms: the last spawn -> all registered %.0f ms) |" % (
                 n, phase["registered_ms"], phase["spawned_ms"],
                 phase["registered_ms"] - phase["spawned_ms"]),
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
    lines += ["", "Requests per change by role (the daemons' own counts, `sync` left out):", "",
              "| change | successor (priority) | its requests | yields (daemons) | their requests"
              " | followers | their requests: total, median, max each | followers that listed"
              " / read 2+ nodes | /leader answers per daemon until it named the successor:"
              " median, max |", "|---|---|---|---|---|---|---|---|---|"]
    for k, r in enumerate(results):
        ro = r["roles"]
        lines.append("| %d | %s (%s) | %s | %d (%d) | %d | %d | %d, %d, %d | %d / %d | %d, %d%s |" % (
            k + 1, r["successor"], "-" if r["successor_priority"] is None
            else r["successor_priority"], _ops(ro["successor"]), ro["yields"], ro["yielders"],
            ro["yielder_requests"], ro["followers"], ro["follower_requests"],
            ro["follower_median"], ro["follower_max"], ro["followers_listing"],
            ro["followers_reading_2plus"], r["leader_polls_median"], r["leader_polls_max"],
            " (%d gave up at 20)" % r["unanswered"] if r["unanswered"] else ""))
    if phase["joins"]:
        lines += ["", "| join (priority) | requests at the servers beyond the baseline | the"
                  " leader's requests | the joiner's | yields (their requests) | followers:"
                  " total, max each | preemption |", "|---|---|---|---|---|---|---|"]
        for j in phase["joins"]:
            p = j["preemption"]
            lines.append("| %s (%s) | %d | %s | %s | %d (%d) | %d, %d | %s |" % (
                j["ident"], "-" if j["priority"] is None else j["priority"], j["requests"],
                _ops(j["leader_requests"]), _ops(j["joiner"]), j["roles"]["yields"],
                j["roles"]["yielder_requests"], j["roles"]["follower_requests"],
                j["roles"]["follower_max"],
                "%s leads %.0f ms after its spawn (%.0f ms after its registration)" % (
                    p["new_leader"], p["ms_from_spawn"], p["ms_from_registration"])
                if p else "-"))
    print("\n".join(lines), flush=True)


def _ops(counts):
    """"get_data 99, get_children 1" (0 when none)."""
    items = [(op, v) for op, v in sorted(counts.items()) if v]
    return ", ".join("%s %d" % kv for kv in items) if items else "0"


def compare(args, phases):
    """One line per phase: the medians over its changes."""
    lines = ["", "#### Scale: %d candidates, with and without priorities (medians of %d"
             " changes)" % (args.candidates, args.changes), "",
             "| priorities | ZooKeeper requests per change (servers) | followers' requests per"
             " change (median follower, max) | successor's | yields per change | yielders'"
             " requests | SIGTERM -> successor's start hook | /leader answers per daemon"
             " (median, max) |", "|---|---|---|---|---|---|---|---|"]
    for ph in phases:
        rs = ph["changes"]

        def med(values):
            values = sorted(values)
            return values[len(values) // 2]
        lines.append("| %s%s | %d | %d (%d, %d) | %d | %d | %d | %.1f ms | %d, %d |" % (
            ph["mode"], " + preempt" if ph["preempt"] else "", med(r["requests"] for r in rs),
            med(r["roles"]["follower_requests"] for r in rs),
            med(r["roles"]["follower_median"] for r in rs),
            max(r["roles"]["follower_max"] for r in rs),
            med(sum(r["roles"]["successor"].values()) for r in rs),
            med(r["roles"]["yields"] for r in rs),
            med(r["roles"]["yielder_requests"] for r in rs),
            med(r["latency_ms"] for r in rs), med(r["leader_polls_median"] for r in rs),
            max(r["leader_polls_max"] for r in rs)))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
