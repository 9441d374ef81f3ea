#!/usr/bin/env python3
"""Judges one fault run (issue 4 item 2) from its run directory.

    python3 tests/faults/checker.py RUN_DIR     # exit 1 on any violation

Inputs, all on CLOCK_MONOTONIC: hooks.log (fault_hook_logger lines),
samples.txt (sampler.py lines), events.jsonl (the harness's faults and
process actions), run.json (parameters).

Checks:
 (a) no two leaderships overlap. A leadership runs from its start hook's
     begin to its stop hook's end (or to the SIGKILL of its daemon: the
     harness counts the daemon's death as the application's). An overlap is
     allowed only when the earlier leader's daemon was frozen (SIGSTOP) when
     the later one began; then the frozen one's stop hook must begin within
     100 ms of its resumption and the later leader's epoch must be greater.
     The /is-leader samples are checked too: a daemon answered 200 at some
     instant between send and answer, so two daemons' runs of 200s overlap
     for sure when [first answer, last send] of one meets that of the other,
     or contains a whole 200 sample of the other.
 (b) after each fault heals (its restore done and ZooKeeper serving again),
     some daemon answers 200 within session_timeout + 2 s; and outside the
     faults (from a fault's begin to its heal + that bound) no leaderless
     gap lasts more than QUIET_GAP_TOLERANCE_MS, beyond the stop hook of a
     voluntary handoff (no leader while it runs, by design).
 (c) epochs strictly increase from one leadership to the next (the same
     daemon claiming again with the same epoch is the same node, kept across
     a reconnect, and is allowed).
 (d) after every daemon's SIGTERM, each exited 0 and no candidate node is
     left under the election path.
 (e) no daemon exited (crashed) without the harness killing it.
 (f) a daemon that exits on SIGTERM while ZooKeeper is down, and ZooKeeper
     returns within the session timeout, leaves no node: the listing taken
     right after its exit does not hold the node it had.

With priorities (harness --priorities, design rule 13):
 (g) a voluntary handoff (a stop hook with reason resigned, shutdown,
     maintenance or preempted) is ordered: no other daemon's start hook
     begins between that stop hook's begin and its end, frozen or not (the
     stop hook is its own process and ends on its own; only a delete before
     its end lets a successor in). An overlap that began before the stop is
     judged by (a).
 (h) a daemon yields its place (its log's "priority: ... yielding our
     place" line) only while it does not lead: never between its start
     hook's begin and its stop hook's end (a priority yield never runs the
     yielder's start hook, and a leader leaves only by a stop hook).
 (i) with preemption (election.preempt): after each fault heals, the leader
     is a daemon of the highest priority among the running daemons within
     preempt_delay + session_timeout + 2 s (the harness waits and records
     "priority_leader"); without preemption the same outcome is reported,
     not judged (a leader is not displaced).
 (j) a priority changed by a reload (SIGHUP after rewriting the daemon's
     configuration file) shows in its /status within 5 s.
"""

import bisect
import calendar
import collections
import json
import os
import re
import statistics
import sys
import time

FROZEN_STOP_DEADLINE_NS = 100_000_000
QUIET_GAP_TOLERANCE_MS = 500
MS = 1_000_000
# Stop reasons of a voluntary handoff (design section 7, invariant 2); a
# priority yield has no stop hook (the yielder never started).
VOLUNTARY_STOPS = ("resigned", "shutdown", "maintenance", "preempted")
# Daemon log lines carry the wall clock to the millisecond; a yield is
# judged against the hook log only beyond this margin.
YIELD_MARGIN_NS = 5 * MS
YIELD_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z\s+\S+\s+priority: (.*) "
                        r"\(priority (-?\d+)\) outranks us \(priority (-?\d+)\); yielding our "
                        r"place (\S+)")


class Leadership:
    def __init__(self, daemon_id, begin, epoch):
        self.id = daemon_id
        self.begin = begin
        self.epoch = epoch
        self.end = None
        self.end_kind = "open"
        self.stop_begin = None
        self.stop_reason = None

    def __repr__(self):
        return f"{self.id}(epoch {self.epoch})"


def _fields(path, count):
    """The whitespace-separated fields of each line of `path` that has
    exactly `count` of them (a line cut by a killed writer is skipped)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [parts for parts in (line.split() for line in f) if len(parts) == count]


def _load(run_dir):
    with open(os.path.join(run_dir, "run.json")) as f:
        params = json.load(f)
    with open(os.path.join(run_dir, "events.jsonl")) as f:
        events = [json.loads(line) for line in f if line.strip()]
    hooks = [(int(t), event, phase, daemon_id, epoch, reason) for event, phase, t, daemon_id,
             epoch, reason in _fields(os.path.join(run_dir, "hooks.log"), 6)]
    samples = [(int(send), int(answer), daemon_id, status) for send, answer, daemon_id, status
               in _fields(os.path.join(run_dir, "samples.txt"), 4)]
    return params, events, sorted(hooks), samples


def _epoch_value(epoch):
    try:
        return int(epoch)
    except ValueError:
        return None


class Checker:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.params, self.events, self.hooks, self.samples = _load(run_dir)
        self.violations = []
        self.lines = []
        st_ms = self.params["session_timeout_ms"]
        self.bound_ns = (st_ms + 2000) * MS
        self.end_t = self.events[-1]["t"] if self.events else 0
        self.faults = self._faults()
        self.freezes = self._freezes()

    # ----- inputs ---------------------------------------------------------
    def _faults(self):
        faults = collections.OrderedDict()
        for e in self.events:
            if e["ev"] == "fault_begin":
                faults[e["n"]] = dict(e, begin=e["t"])
            elif e["ev"] in ("fault_restore", "fault_healed", "leader_seen",
                             "leader_missing") and e["n"] in faults:
                faults[e["n"]][e["ev"]] = e["t"]
        return faults

    def _freezes(self):
        freezes = collections.defaultdict(list)
        for e in self.events:
            if e["ev"] == "daemon_pause":
                freezes[e["id"]].append([e["t"], None])
            elif e["ev"] == "daemon_resume" and freezes[e["id"]]:
                freezes[e["id"]][-1][1] = e["t"]
        return freezes

    def _frozen_at(self, daemon_id, t):
        """The freeze window [pause, resume] of daemon_id around t, or None."""
        for pause, resume in self.freezes.get(daemon_id, []):
            if pause <= t and (resume is None or t <= resume):
                return pause, resume
        return None

    def leaderships(self):
        """Leaderships from the hook log, cut by SIGKILLs of their daemon."""
        timeline = [(t, "hook", (event, phase, daemon_id, epoch, reason))
                    for t, event, phase, daemon_id, epoch, reason in self.hooks]
        timeline += [(e["t"], "kill", (e["id"],)) for e in self.events if e["ev"] == "daemon_kill"]
        timeline.sort(key=lambda item: item[0])
        current = {}
        done = []
        for t, kind, data in timeline:
            if kind == "kill":
                open_one = current.pop(data[0], None)
                if open_one:
                    open_one.end, open_one.end_kind = t, "killed"
                    done.append(open_one)
                continue
            event, phase, daemon_id, epoch, reason = data
            if event == "start" and phase == "begin":
                if daemon_id in current:
                    self.violations.append(f"(a) {daemon_id}: two start hooks without a stop "
                                           f"(epochs {current[daemon_id].epoch}, {epoch})")
                    unstopped = current.pop(daemon_id)
                    unstopped.end, unstopped.end_kind = t, "unstopped"
                    done.append(unstopped)
                current[daemon_id] = Leadership(daemon_id, t, epoch)
            elif event == "stop" and phase == "begin":
                leadership = current.get(daemon_id)
                if leadership is None:
                    self.violations.append(f"(a) {daemon_id}: stop hook without a start at {t}")
                elif leadership.stop_begin is None:
                    leadership.stop_begin, leadership.stop_reason = t, reason
            elif event == "stop" and phase == "end":
                leadership = current.get(daemon_id)
                if leadership is not None and leadership.stop_begin is not None:
                    leadership.end, leadership.end_kind = t, "stopped"
                    done.append(current.pop(daemon_id))
        for leadership in current.values():
            leadership.end = self.end_t
            done.append(leadership)
        return sorted(done, key=lambda l: l.begin)

    # ----- checks -----------------------------------------------------------
    def check_hook_overlaps(self, leaderships):
        allowed = 0
        overlaps = 0
        for i, earlier in enumerate(leaderships):
            for later in leaderships[i + 1:]:
                if later.begin >= earlier.end:
                    break
                if later.id == earlier.id:
                    continue
                overlaps += 1
                if (earlier.stop_reason in VOLUNTARY_STOPS and earlier.stop_begin is not None
                        and later.begin >= earlier.stop_begin):
                    frozen = self._frozen_at(earlier.id, later.begin)
                    self.violations.append(
                        f"(g) voluntary handoff ({earlier.stop_reason}): {later} began its start "
                        f"hook at {later.begin}, {(earlier.end - later.begin) / MS:.0f} ms before "
                        f"{earlier}'s stop hook [{earlier.stop_begin}, {earlier.end}] ended" +
                        (f" ({earlier.id} frozen since {frozen[0]})" if frozen else ""))
                    continue
                freeze = self._frozen_at(earlier.id, later.begin)
                why = self._frozen_overlap_fault(earlier, later, freeze)
                if why is None:
                    allowed += 1
                else:
                    self.violations.append(
                        f"(a) leaderships overlap for {(earlier.end - later.begin) / MS:.0f} ms: "
                        f"{earlier} [{earlier.begin}, {earlier.end}] and {later} from "
                        f"{later.begin}: {why}")
        return overlaps, allowed

    def _frozen_overlap_fault(self, earlier, later, freeze):
        """None when the overlap is the allowed frozen-leader case, else why not."""
        if freeze is None:
            return f"{earlier.id} was not frozen"
        resume = freeze[1]
        if resume is None or earlier.stop_begin is None:
            return f"{earlier.id} never ran its stop hook after resuming"
        if earlier.stop_begin - resume > FROZEN_STOP_DEADLINE_NS:
            return (f"{earlier.id}'s stop hook began {(earlier.stop_begin - resume) / MS:.1f} ms "
                    "after its resumption (limit 100 ms)")
        e1, e2 = _epoch_value(earlier.epoch), _epoch_value(later.epoch)
        if e1 is None or e2 is None or e2 <= e1:
            return f"later epoch {later.epoch} not greater than {earlier.epoch}"
        return None

    def check_epochs(self, leaderships):
        for prev, cur in zip(leaderships, leaderships[1:]):
            e1, e2 = _epoch_value(prev.epoch), _epoch_value(cur.epoch)
            if e2 is None:
                self.violations.append(f"(c) {cur.id} led without an epoch")
            elif cur.id == prev.id and e1 == e2:
                continue
            elif e1 is not None and e2 <= e1:
                self.violations.append(f"(c) epoch went from {prev} to {cur}")

    def sample_runs(self):
        """Per daemon, its runs of consecutive 200 answers: (first answer, last send)."""
        by_daemon = collections.defaultdict(list)
        for s in self.samples:
            by_daemon[s[2]].append(s)
        runs = {}
        for daemon_id, samples in by_daemon.items():
            samples.sort()
            spans = []
            first = last = None
            for sample in samples + [(0, 0, daemon_id, "end")]:
                if sample[3] == "200":
                    first = first or sample
                    last = sample
                    continue
                if first is not None:
                    spans.append((first[1], last[0]))
                first = last = None
            runs[daemon_id] = spans
        return runs

    def check_sample_overlaps(self, runs):
        """Windows where two daemons surely answered 200 at once; returns
        them merged into episodes (evidence less than 1 s apart)."""
        certain = {d: sorted((a, b) for a, b in spans if a <= b) for d, spans in runs.items()}
        evidence = []
        merged = sorted((a, b, d) for d, spans in certain.items() for a, b in spans)
        for i, (a1, b1, d1) in enumerate(merged):
            for a2, b2, d2 in merged[i + 1:]:
                if a2 > b1:
                    break
                if d1 != d2:
                    evidence.append((a2, min(b1, b2), {d1, d2}))
        starts = {d: [a for a, _ in spans] for d, spans in certain.items()}
        for send, answer, daemon_id, status in self.samples:
            if status != "200":
                continue
            for other, spans in certain.items():
                k = bisect.bisect_right(starts[other], send) - 1
                if other != daemon_id and k >= 0 and spans[k][1] >= answer:
                    evidence.append((send, answer, {daemon_id, other}))
        episodes = []
        for a, b, daemons in sorted(evidence, key=lambda e: e[0]):
            if episodes and a - episodes[-1][1] < 1000 * MS:
                episodes[-1][1] = max(episodes[-1][1], b)
                episodes[-1][2] |= daemons
            else:
                episodes.append([a, b, set(daemons)])
        for a, b, daemons in episodes:
            self.violations.append(f"(a) /is-leader: {' and '.join(sorted(daemons))} both answered "
                                   f"200 within [{a}, {b}] ({(b - a) / MS:.0f} ms)")
        return episodes

    def leader_answers(self):
        return sorted((s[1], s[0]) for s in self.samples if s[3] == "200")

    def check_heal_to_leader(self, answers):
        """Per fault: ms from its heal to the first 200 sent after it."""
        sends = sorted(send for _, send in answers)
        answer_of = {send: answer for answer, send in answers}
        per_fault = {}
        for n, fault in self.faults.items():
            healed = fault.get("fault_healed")
            if healed is None:
                continue
            k = bisect.bisect_left(sends, healed)
            if k == len(sends):
                self.violations.append(f"(b) fault {n} ({fault['kind']}): no leader after its heal")
                continue
            delay = answer_of[sends[k]] - healed
            per_fault[n] = delay
            if delay > self.bound_ns:
                self.violations.append(
                    f"(b) fault {n} ({fault['kind']}): leader {delay / MS:.0f} ms after the heal "
                    f"(bound {self.bound_ns / MS:.0f} ms)")
        return per_fault

    def leaderless_gaps(self, answers):
        times = [answer for answer, _ in answers]
        gaps = [(b - a, a, b) for a, b in zip(times, times[1:])]
        return sorted(gaps, reverse=True)

    def check_quiet_gaps(self, gaps, leaderships):
        windows = [(f["begin"], f.get("fault_healed", self.end_t) + self.bound_ns)
                   for f in self.faults.values()]
        # An ordered handoff has no leader while its stop hook runs (rule 12):
        # the time after the hook's end is what counts.
        windows += [(l.stop_begin, l.end) for l in leaderships
                    if l.stop_reason in VOLUNTARY_STOPS and l.stop_begin is not None
                    and l.end_kind == "stopped"]
        ready = next((e["t"] for e in self.events if e["ev"] == "ready"), self.end_t)
        shutdown = next((e["t"] for e in self.events if e["ev"] == "shutdown_begin"), self.end_t)
        windows += [(0, ready), (shutdown, self.end_t + 1)]
        for length, a, b in gaps:
            if length <= QUIET_GAP_TOLERANCE_MS * MS:
                break
            uncovered = _uncovered(a, b, windows)
            if uncovered > QUIET_GAP_TOLERANCE_MS * MS:
                self.violations.append(f"(b) leaderless for {uncovered / MS:.0f} ms outside any "
                                       f"fault, within [{a}, {b}]")

    def fault_at(self, t):
        """The last fault begun before t, or None."""
        found = None
        for n, fault in self.faults.items():
            if fault["begin"] <= t:
                found = (n, fault)
        return found

    def frozen_leader_stops(self, leaderships):
        """ms from each frozen leader's resumption to its stop hook's begin."""
        delays = []
        for leadership in leaderships:
            for pause, resume in self.freezes.get(leadership.id, []):
                if resume is None or not leadership.begin <= pause <= leadership.end:
                    continue
                if leadership.stop_begin is not None and leadership.stop_begin >= resume:
                    delays.append((leadership.stop_begin - resume) / MS)
        return delays

    def check_shutdown(self):
        terms = [e for e in self.events if e["ev"] == "daemon_term"]
        for e in terms:
            if e["code"] != 0:
                self.violations.append(f"(d) {e['id']} exited {e['code']} on SIGTERM")
        children = [e for e in self.events if e["ev"] == "children"]
        if not children:
            self.violations.append("(d) the run did not reach the final listing")
        elif children[-1]["names"]:
            self.violations.append(f"(d) candidate nodes left: {children[-1]['names']}")
        return terms, children[-1]["names"] if children else None

    def check_exit_listings(self):
        listings = [e for e in self.events if e["ev"] == "exit_listing"]
        for e in listings:
            if e["node"] in e["names"]:
                self.violations.append(f"(f) {e['id']} exited and left its node {e['node']}")
        return listings

    def check_crashes(self):
        crashes = [e for e in self.events if e["ev"] == "daemon_exit" and not e.get("expected")]
        for e in crashes:
            self.violations.append(f"(e) {e['id']} exited by itself with {e['code']}")
        return crashes

    # ----- priorities (rule 13) ---------------------------------------------
    def _wall_to_mono(self):
        """wall ns -> monotonic ns, from the harness's "clock" event."""
        clock = next((e for e in self.events if e["ev"] == "clock"), None)
        if clock is None:
            return None
        offset = clock["wall_ns"] - clock["t"]
        return lambda wall_ns: wall_ns - offset

    def yields(self, run_dir):
        """(daemon id, monotonic ns or None, to, to_priority, own priority, node)
        for each priority yield in the daemons' logs, in time order."""
        to_mono = self._wall_to_mono()
        found = []
        for name in sorted(os.listdir(run_dir)):
            if not re.fullmatch(r"d\d+\.log", name):
                continue
            with open(os.path.join(run_dir, name), errors="replace") as f:
                for line in f:
                    if "yielding our place" not in line:
                        continue
                    m = YIELD_LINE.match(line)
                    if not m:
                        continue
                    wall = (calendar.timegm(time.strptime(m[1], "%Y-%m-%dT%H:%M:%S")) * 1000 +
                            int(m[2])) * MS
                    found.append((name[:-4], to_mono(wall) if to_mono else None, m[3],
                                  int(m[4]), int(m[5]), m[6]))
        return sorted(found, key=lambda y: (y[1] or 0, y[0]))

    def check_yields(self, yields, leaderships):
        for daemon_id, t, to, to_priority, priority, node in yields:
            if t is None:
                continue
            for l in leaderships:
                if (l.id == daemon_id and l.begin + YIELD_MARGIN_NS < t and
                        t < l.end - YIELD_MARGIN_NS):
                    self.violations.append(
                        f"(h) {daemon_id} yielded its place while leading: its log's yield of "
                        f"{node} to {to} (priority {to_priority} over {priority}) at {t} lies in "
                        f"its leadership {l} [{l.begin}, {l.end}]")
                    break

    def check_priority_leaders(self):
        checks = [e for e in self.events if e["ev"] == "priority_leader"]
        if self.params.get("preempt"):
            for e in checks:
                if not e["ok"] and e["leader"] is None:
                    self.violations.append(
                        f"(i) fault {e['n']}: no leader {e['waited_s']:.1f} s after the heal "
                        f"while {e['top']} (priority {e['top_priority']}) was running")
                elif not e["ok"]:
                    self.violations.append(
                        f"(i) fault {e['n']}: {e['leader']} (priority {e['leader_priority']}) "
                        f"still led {e['waited_s']:.1f} s after the heal while {e['top']} "
                        f"(priority {e['top_priority']}) was running")
        return checks

    def check_reloads(self):
        reloads = [e for e in self.events if e["ev"] == "priority_reload"]
        for e in reloads:
            if not e["applied"]:
                self.violations.append(
                    f"(j) fault {e['n']}: {e['id']}'s reload to priority {e['new']} did not "
                    f"show in its /status (it showed {e.get('seen')})")
        return reloads

    def _priority_lines(self, leaderships, yields, checks, reloads):
        p = self.params
        preempted = [l for l in leaderships if l.stop_reason == "preempted"]
        if not (p.get("priorities") or yields or preempted or checks or reloads):
            return
        out = self.lines
        if p.get("priorities"):
            out.append(f"priorities drawn from {p['priorities']}" +
                       (f", preemption after {p['preempt_delay_ms']} ms" if p.get("preempt")
                        else ", no preemption"))
        per = collections.Counter(y[0] for y in yields)
        out.append(f"priority yields: {len(yields)}" +
                   (" (" + ", ".join(f"{d} {n}" for d, n in sorted(per.items())) + ")"
                    if per else ""))
        if reloads:
            out.append(f"priority reloads (SIGHUP): {len(reloads)}, applied "
                       f"{sum(1 for e in reloads if e['applied'])}")
        if checks:
            top = sum(1 for e in checks if e["ok"])
            waits = [e["waited_s"] for e in checks if e["ok"]]
            out.append(f"after a heal, leader of the highest priority among the running daemons: "
                       f"{top} of {len(checks)}" +
                       (f" (waited up to {max(waits):.1f} s for it)" if p.get("preempt") and waits
                        else ""))

    # ----- report ---------------------------------------------------------
    def run(self):
        p = self.params
        out = self.lines
        leaderships = self.leaderships()
        overlaps, allowed = self.check_hook_overlaps(leaderships)
        self.check_epochs(leaderships)
        runs = self.sample_runs()
        sample_overlaps = self.check_sample_overlaps(runs)
        answers = self.leader_answers()
        heal = self.check_heal_to_leader(answers)
        gaps = self.leaderless_gaps(answers)
        self.check_quiet_gaps(gaps, leaderships)
        frozen = self.frozen_leader_stops(leaderships)
        terms, children = self.check_shutdown()
        crashes = self.check_crashes()
        exit_listings = self.check_exit_listings()
        yields = self.yields(self.run_dir)
        self.check_yields(yields, leaderships)
        priority_checks = self.check_priority_leaders()
        reloads = self.check_reloads()

        bound_ms = self.bound_ns / MS
        out.append(f"zkelect fault run: seed {p['seed']}, {p['duration_s']:.0f} s of faults, "
                   f"{p['daemons']} daemons, session timeout {p['session_timeout_ms']} ms, "
                   f"stop hook {p['stop_hook_ms']} ms")
        kinds = collections.Counter(f["kind"] for f in self.faults.values())
        out.append(f"faults injected: {len(self.faults)}: " +
                   ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        epochs = [l.epoch for l in leaderships]
        out.append(f"leaderships: {len(leaderships)} on {len(set(epochs))} epochs "
                   f"({epochs[0] if epochs else '-'} .. {epochs[-1] if epochs else '-'})")
        out.append(f"overlaps (hook log): {overlaps}, of which allowed (frozen leader): {allowed}")
        out.append(f"overlaps (/is-leader samples): {len(sample_overlaps)}" +
                   "".join(f", {(b - a) / MS:.0f} ms" for a, b, _ in sample_overlaps))
        self._handoff_lines(leaderships)
        self._priority_lines(leaderships, yields, priority_checks, reloads)
        if heal:
            worst = max(heal, key=heal.get)
            by_kind = collections.defaultdict(list)
            for n, delay in heal.items():
                by_kind[self.faults[n]["kind"]].append(delay / MS)
            out.append(f"heal -> leader: longest {heal[worst] / MS:.0f} ms (fault {worst}, "
                       f"{self.faults[worst]['kind']}) against the bound {bound_ms:.0f} ms")
            for kind, delays in sorted(by_kind.items()):
                median = statistics.median(delays)
                out.append(f"  {kind:17s} n={len(delays):3d} median {median:6.0f} ms  "
                           f"max {max(delays):6.0f} ms")
        if gaps:
            length, a, _ = gaps[0]
            where = self.fault_at(a)
            where_text = (f"fault {where[0]} {where[1]['kind']} (held {where[1]['hold_s']} s)"
                          if where else "before the first fault")
            out.append(f"longest leaderless gap (whole fault included): {length / MS:.0f} ms, "
                       f"during {where_text}")
        if frozen:
            out.append(f"frozen leaders: stop hook began {min(frozen):.1f}..{max(frozen):.1f} ms "
                       f"after SIGCONT (n={len(frozen)}, limit 100 ms where another led)")
        self._sampling_lines()
        out.append("shutdown: exit codes " + ", ".join(f"{e['id']}={e['code']}" for e in terms) +
                   f"; candidate nodes left: {children if children is not None else '?'}")
        out.append(f"daemons that exited by themselves: {len(crashes)}")
        if exit_listings:
            left = sum(1 for e in exit_listings if e["node"] in e["names"])
            out.append(f"exits while ZooKeeper was down: {len(exit_listings)}, "
                       f"nodes left after the exit: {left}")
        if self.violations:
            out.append(f"VIOLATIONS ({len(self.violations)}):")
            out.extend("  " + v for v in self.violations[:50])
        else:
            out.append("no violation")
        return "\n".join(out), self.violations

    def _handoff_lines(self, leaderships):
        pairs = list(zip(leaderships, leaderships[1:]))
        reclaims = sum(1 for prev, cur in pairs if cur.id == prev.id and cur.epoch == prev.epoch)
        self.lines.append(f"same node led again after stepping down (same session, same epoch): "
                          f"{reclaims}")
        changes = [(prev, cur) for prev, cur in pairs if cur.id != prev.id]
        graceful = [(cur.begin - prev.end) / MS for prev, cur in changes
                    if prev.stop_reason in ("shutdown", "resigned")]
        crashed = [(cur.begin - prev.end) / MS for prev, cur in changes
                   if prev.end_kind == "killed"]
        preempted = [(cur.begin - prev.end) / MS for prev, cur in changes
                     if prev.stop_reason == "preempted"]
        involuntary = [(cur.begin - prev.end) / MS for prev, cur in changes
                       if prev.end_kind == "stopped" and cur.begin >= prev.end and
                       prev.stop_reason not in ("shutdown", "resigned", "preempted")]
        for name, delays, of in (
                ("graceful handoffs (SIGTERM)", graceful, "the old leader's stop hook ended"),
                ("preemptions", preempted, "the preempted leader's stop hook ended"),
                ("leader SIGKILLed", crashed, "the kill"),
                ("leader stepped down (fault)", involuntary, "its stop hook ended")):
            if delays:
                self.lines.append(f"{name}: {len(delays)}, successor's start hook began "
                                  f"{min(delays):.1f} / {statistics.median(delays):.1f} / "
                                  f"{max(delays):.1f} ms (min / median / max) after {of}")

    def _sampling_lines(self):
        stats = next((e for e in self.events if e["ev"] == "sampler_stats"), None)
        if not stats or not stats.get("seconds"):
            return
        seconds = stats["seconds"]
        per = ", ".join(f"{d} {v['answers'] / seconds:.0f}/s" for d, v in stats["daemons"].items())
        self.lines.append(f"/is-leader sampling every {self.params['sample_ms']} ms: {per} "
                          f"answered over {seconds:.0f} s; {stats['late_ticks']} of "
                          f"{stats['ticks']} ticks late")
        # Send-to-send intervals of each daemon; those over 1 s are a daemon
        # that was down or frozen, not the sampler.
        sends = collections.defaultdict(list)
        for send, _, daemon_id, _ in self.samples:
            sends[daemon_id].append(send)
        intervals = []
        for times in sends.values():
            times.sort()
            intervals += [(b - a) / MS for a, b in zip(times, times[1:]) if b - a < 1000 * MS]
        if intervals:
            intervals.sort()
            median, p99 = (intervals[min(len(intervals) - 1, int(q * len(intervals)))]
                           for q in (0.5, 0.99))
            self.lines.append(f"  interval between two samples of one daemon: median "
                              f"{median:.1f} ms, p99 {p99:.1f} ms, max "
                              f"{intervals[-1]:.0f} ms")


def _uncovered(a, b, windows):
    """Length of [a, b] not covered by any of `windows`."""
    covered = 0
    cursor = a
    for w0, w1 in sorted(windows):
        if w1 <= cursor or w0 >= b:
            continue
        if w0 > cursor:
            cursor = w0
        end = min(w1, b)
        if end > cursor:
            covered += end - cursor
            cursor = end
    return (b - a) - covered


def report(run_dir):
    """(summary text, violations) for the run in run_dir."""
    try:
        return Checker(run_dir).run()
    except (OSError, ValueError, KeyError, IndexError) as error:
        return f"checker: cannot judge {run_dir}: {error!r}", [str(error)]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    summary, violations = report(argv[1])
    print(summary)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
