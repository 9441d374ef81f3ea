#!/usr/bin/python3
"""bench/scale: one election with many zkelect candidates.

Starts --candidates daemons in one election on a 3-server ensemble (each with
a start hook that stamps CLOCK_MONOTONIC into one shared file), then
--changes times: SIGTERM to the leader, time until the successor's start hook
begins, and the ZooKeeper requests the change caused, counted on the servers
(sum of `mntr` zk_packets_received over the three servers, during a window of
--window seconds from the SIGTERM, minus the same window's count while nothing
changes, which is the sessions' pings and zkelect's own liveness reads).

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


def new_stamps(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    return offset + end, [(l.split()[0], int(l.split()[1])) for l in data[:end].decode().splitlines()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--session-timeout", type=float, default=4.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    wd = bl.Workdir("scale")
    ens = None
    daemons = {}
    try:
        stamp = bl.build_stamp(wd)
        stamps = os.path.join(wd.path, "starts")
        open(stamps, "w").close()
        ens = bl.ZkEnsemble(wd)
        ens.start()

        def launch(i):
            ident = "n%03d" % i
            d = bl.Zkelect(wd, ident, ens.connect, "/bench/scale", args.session_timeout,
                           ["--http.max_waiters", "1",
                            "--hooks.on_start", json.dumps([stamp, stamps, ident])])
            daemons[ident] = d.start()
            return d

        bl.log("starting %d candidates" % args.candidates)
        launch(0).wait_ready()
        batch = []
        for i in range(1, args.candidates):
            batch.append(launch(i))
            if len(batch) == 10 or i == args.candidates - 1:
                for d in batch:
                    d.wait_ready(60)
                batch = []
        offset, lines = new_stamps(stamps, 0)
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
            r0 = ens.packets()[0]
            t0 = time.monotonic_ns()
            os.kill(daemons[leader].proc.pid, signal.SIGTERM)

            def successor():
                nonlocal offset
                offset, got = new_stamps(stamps, offset)
                return got[0] if got else None

            who, t1 = bl.wait_for("a successor", successor, 30, poll=0.005)
            rest = args.window - (time.monotonic_ns() - t0) / 1e9
            if rest > 0:
                time.sleep(rest)
            caused = ens.packets()[0] - r0 - baseline
            results.append({"latency_ms": (t1 - t0) / 1e6, "requests": caused, "successor": who})
            bl.log("change %d: %s -> %s in %.1f ms, %d requests beyond the baseline" % (
                k + 1, leader, who, (t1 - t0) / 1e6, caused))
            daemons[leader].proc.popen.wait(10)
            del daemons[leader]
            leader = who
        n = args.candidates
        lat = bl.summary_ms([int(r["latency_ms"] * 1e6) for r in results])
        req = sorted(r["requests"] for r in results)
        lines = ["", "#### Scale: %d candidates in one election, %d leader changes (SIGTERM)" % (
            n, args.changes), "",
                 "| measure | value |", "|---|---|",
                 "| SIGTERM -> successor's start hook begins | p50 %.1f ms, max %.1f ms |" % (
                     lat["p50"], lat["max"]),
                 "| ZooKeeper requests per change (beyond a quiet %.0fs window of %d) | median %d,"
                 " min %d, max %d |" % (args.window, baseline, req[len(req) // 2], req[0], req[-1]),
                 "| ... per remaining candidate | %.2f |" % (req[len(req) // 2] / (n - 1))]
        print("\n".join(lines))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"candidates": n, "baseline": baseline, "changes": results}, f, indent=1)
    finally:
        for d in daemons.values():
            d.proc.stop(signal.SIGKILL, timeout=2)
        if ens:
            ens.stop()
        wd.close()


if __name__ == "__main__":
    main()
