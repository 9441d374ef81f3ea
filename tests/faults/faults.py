"""The ten fault kinds of the harness, drawn from a seeded random generator.

Each fault injects, holds for a drawn time, and restores; the harness
(harness.py) records begin/restore/heal around it. Durations scale with the
session timeout `st`: pauses always outlast it, partitions are drawn both
shorter (same session resumes) and longer (the session expires).

Every random value is drawn before the fault touches anything, in a fixed
order, so one seed gives the same sequence of kinds, targets and durations
whatever the timing of the run. Targets named "leader" are resolved at run
time (the daemon, or ZooKeeper server, that leads at that moment).
"""

import time

KINDS = ("daemon_kill", "daemon_pause", "daemon_partition", "zk_kill", "zk_leader_kill",
         "ensemble_stop", "zk_partition",
         # The interleavings of the safety issue's defects, on real processes:
         "leader_fence_term", "health_fail_in_stop", "shutdown_disconnected")
# Drawn only when the run asks for it (harness --priority-reload).
PRIORITY_KINDS = ("priority_reload",)

# A daemon cut off from ZooKeeper fences itself at half the session timeout;
# its client library notices at two thirds. In between it is fenced while the
# library still holds the connection, and a request it sends then reaches
# ZooKeeper if the link returns before that.
FENCE_WAIT_FRACTION = 0.65
EXIT_TIMEOUT_S = 20


class Plan:
    """What one fault will do, drawn from the generator."""

    def __init__(self, kind, rng, st, daemons, servers, priorities=None):
        self.kind = kind
        # Faults on a daemon hit the current leader half of the time.
        self.on_leader = rng.random() < 0.5
        self.daemon_index = rng.randrange(daemons)
        self.server_index = rng.randrange(servers)
        hold = {
            "daemon_kill": (0.2, 2.0),
            "daemon_pause": (1.2 * st, 2.0 * st),
            "daemon_partition": (0.3 * st, 2.5 * st),
            "zk_kill": (0.5, 4.0),
            "zk_leader_kill": (0.5, 4.0),
            "ensemble_stop": (0.5 * st, 2.0 * st),
            "zk_partition": (1.0 * st, 3.0 * st),
            # from the SIGTERM to the link's return (short of 2/3 of st)
            "leader_fence_term": (0.0, 0.1 * st),
            # how long the health check keeps failing
            "health_fail_in_stop": (0.5 * st, 2.0 * st),
            # the outage during which the daemon gets SIGTERM (short of st)
            "shutdown_disconnected": (0.2 * st, 0.8 * st),
            # after the SIGHUP: time for a yield or a preemption to play out
            "priority_reload": (0.5 * st, 2.0 * st),
        }[kind]
        self.hold_s = rng.uniform(*hold)
        self.quiet_s = rng.uniform(0.5, 2.0)
        # Drawn last, and only by this kind: the other kinds draw as before.
        self.new_priority = rng.choice(priorities) if kind == "priority_reload" else None


class FaultBag:
    """Kinds in rounds: each round is every kind once, in a shuffled order,
    so that even a short run injects every kind."""

    def __init__(self, rng, kinds=KINDS):
        self._rng = rng
        self._kinds = list(kinds)
        self._round = []

    def next(self):
        if not self._round:
            self._round = list(self._kinds)
            self._rng.shuffle(self._round)
        return self._round.pop()


class Injector:
    """Applies a Plan to the run's ensemble and daemons."""

    def __init__(self, lab, zk, daemon_set, emit, st, list_children):
        self._lab = lab
        self._zk = zk
        self._daemons = daemon_set
        self._emit = emit
        self._st = st
        self._list_children = list_children

    def _daemon(self, plan):
        daemons = self._daemons.daemons
        if plan.on_leader:
            leaders = self._daemons.leaders()
            if leaders:
                return leaders[0]
        return daemons[plan.daemon_index]

    def inject_and_restore(self, n, plan):
        """Injects fault `n`, holds it, restores it. Returns its target."""
        inject = getattr(self, "_" + plan.kind)
        return inject(n, plan)

    def _begin(self, n, plan, target, **details):
        self._emit("fault_begin", n=n, kind=plan.kind, target=target, hold_s=round(plan.hold_s, 3),
                   **details)

    def _restored(self, n):
        self._emit("fault_restore", n=n)

    def _daemon_kill(self, n, plan):
        return self._on_daemon(n, plan, self._daemons.kill, self._daemons.start)

    def _daemon_pause(self, n, plan):
        return self._on_daemon(n, plan, self._daemons.pause, self._daemons.resume)

    def _daemon_partition(self, n, plan):
        servers = [s.address for s in self._zk.servers]
        return self._on_daemon(n, plan, lambda d: self._lab.partition(d.id, servers),
                               lambda d: self._lab.heal(d.id))

    def _on_daemon(self, n, plan, inject, restore):
        daemon = self._daemon(plan)
        self._begin(n, plan, daemon.id)
        inject(daemon)
        time.sleep(plan.hold_s)
        restore(daemon)
        self._restored(n)
        return daemon.id

    def _zk_kill(self, n, plan):
        server = self._zk.servers[plan.server_index]
        return self._kill_server(n, plan, server)

    def _zk_leader_kill(self, n, plan):
        server = self._zk.leader() or self._zk.servers[plan.server_index]
        return self._kill_server(n, plan, server)

    def _leaders_server(self):
        """The ZooKeeper server the leading daemon is connected to (from the
        servers' `cons` lists), or None."""
        leaders = self._daemons.leaders()
        if not leaders:
            return None
        needle = f"/{leaders[0].address}:"
        return next((s for s in self._zk.servers if needle in (self._zk.connections(s) or "")),
                    None)

    def _kill_server(self, n, plan, server):
        self._begin(n, plan, f"zk{server.myid}", zk_mode=self._zk.mode(server))
        self._zk.kill(server)
        time.sleep(plan.hold_s)
        self._zk.start(server)
        self._restored(n)
        return f"zk{server.myid}"

    def _ensemble_stop(self, n, plan):
        self._begin(n, plan, "ensemble")
        for server in self._zk.servers:
            self._zk.stop(server)
        time.sleep(plan.hold_s)
        for server in self._zk.servers:
            self._zk.start(server)
        self._restored(n)
        return "ensemble"

    def _zk_partition(self, n, plan):
        # Half the time, the server that the leading daemon is connected to:
        # it goes on answering that daemon's reads and pings while the rest
        # of the ensemble expires its session.
        server = (self._leaders_server() if plan.on_leader else None) or \
            self._zk.servers[plan.server_index]
        others = [s.address for s in self._zk.servers if s is not server]
        self._begin(n, plan, f"zk{server.myid}", zk_mode=self._zk.mode(server))
        self._lab.partition(f"zk{server.myid}", others)
        time.sleep(plan.hold_s)
        self._lab.heal(f"zk{server.myid}")
        self._restored(n)
        return f"zk{server.myid}"

    # ----- the safety issue's interleavings ------------------------------

    def _cut_until_fenced(self, daemon):
        """Cuts `daemon` off from every server and waits until it no longer
        answers as leader (it fenced itself), or the library is about to
        notice. Returns whether it was leading and fenced itself."""
        was_leader = daemon.is_leader()
        self._lab.partition(daemon.id, [s.address for s in self._zk.servers])
        cut = time.monotonic()
        deadline = cut + FENCE_WAIT_FRACTION * self._st
        while time.monotonic() < deadline and daemon.is_leader(timeout_s=0.05):
            time.sleep(0.01)
        return was_leader and time.monotonic() < deadline

    def _leader_fence_term(self, n, plan):
        """SIGTERM of a leader that has just fenced itself, during its stop
        hook; the link returns before the library gave the connection up. A
        delete sent at the SIGTERM would reach ZooKeeper while the stop hook
        runs, and the successor would start during it (defect 1)."""
        daemon = self._daemon(plan)
        self._begin(n, plan, daemon.id)
        fenced = self._cut_until_fenced(daemon)
        self._daemons.send_term(daemon)
        self._emit("daemon_term_sent", id=daemon.id, fenced=fenced)
        time.sleep(plan.hold_s)
        self._lab.heal(daemon.id)
        code = self._daemons.wait_exit(daemon, EXIT_TIMEOUT_S)
        self._emit("daemon_term", id=daemon.id, code=code)
        self._daemons.start(daemon)
        self._restored(n)
        return daemon.id

    def _health_fail_in_stop(self, n, plan):
        """An involuntary stop (a leader fenced while cut off), the health
        check failing while its stop hook runs (a stop hook that stops the
        application does that), then the link returns with the same session:
        the unhealthy node must not delete its node before its stop hook
        ended (defect 1)."""
        daemon = self._daemon(plan)
        self._begin(n, plan, daemon.id)
        self._cut_until_fenced(daemon)
        daemon.set_healthy(False)
        self._emit("daemon_unhealthy", id=daemon.id)
        time.sleep(0.3)  # three health checks
        self._lab.heal(daemon.id)
        time.sleep(plan.hold_s)
        daemon.set_healthy(True)
        self._emit("daemon_healthy", id=daemon.id)
        self._restored(n)
        return daemon.id

    def _priority_reload(self, n, plan):
        """A new election.priority for a daemon (the leader half of the
        time) by a reload: its file rewritten, SIGHUP, its /status polled
        until it shows the new value (check (j)). Nothing is restored: the
        priority stays until the next reload of that daemon."""
        daemon = self._daemon(plan)
        old = daemon.priority
        self._begin(n, plan, daemon.id, old=old, new=plan.new_priority)
        seen = self._daemons.set_priority(daemon, plan.new_priority)
        self._emit("priority_reload", n=n, id=daemon.id, old=old, new=plan.new_priority,
                   applied=seen == plan.new_priority, seen=seen)
        time.sleep(plan.hold_s)
        self._restored(n)
        return daemon.id

    def _shutdown_disconnected(self, n, plan):
        """SIGTERM while the whole ensemble is down; it returns within the
        session timeout. The daemon must delete its node before it exits
        (defect 6): right after the exit, its node is listed."""
        daemon = self._daemon(plan)
        node = daemon.own_node()
        self._begin(n, plan, daemon.id, node=node)
        for server in self._zk.servers:
            self._zk.stop(server)
        self._daemons.send_term(daemon)
        self._emit("daemon_term_sent", id=daemon.id, fenced=False)
        time.sleep(plan.hold_s)
        for server in self._zk.servers:
            self._zk.start(server)
        code = self._daemons.wait_exit(daemon, EXIT_TIMEOUT_S)
        self._emit("daemon_term", id=daemon.id, code=code)
        if node:
            self._emit("exit_listing", id=daemon.id, node=node, names=self._list_children())
        self._daemons.start(daemon)
        self._restored(n)
        return daemon.id

