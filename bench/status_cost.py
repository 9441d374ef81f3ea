#!/usr/bin/python3
"""bench/status-cost: what one GET /status costs ZooKeeper with N candidates.

/status names every candidate by its id (issue 16 point 5), read from the
candidates' node data on demand and cached for the current listing. This
starts one ZooKeeper server, creates N-1 plain candidate znodes
(`_c_<uuid>-latch-<seq>`, persistent, data "pNNN"; bench/tools/plain_candidates.c), then one
zkelect daemon, last in line (a follower whose listing holds all N), and
asks its /status a few times. For each call it reports the daemon's own
count of get_data requests (zkelect_zk_requests_total{op="get_data"}) and
the packets the server received (mntr zk_packets_received), the latter
minus a quiet window of the same length (the session's pings and zkelect's
liveness reads).

Plain znodes instead of N daemons: N zkelect processes and a 3-server
ensemble are more than a shared 2-core machine holds steady; the cost of
/status depends only on the listing the asked daemon holds.

Usage: bench/status-cost [--candidates N] [--calls K] [--window S]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

PATH = "/bench/status"


def get_data_requests(daemon):
    status, body = bl.http_get(daemon.url("/metrics"))
    if status != 200:
        raise bl.BenchError("/metrics answered %s" % status)
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith('zkelect_zk_requests_total{op="get_data"'):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def create_plain_candidates(workdir, connect, count):
    """N persistent sequential znodes in the Curator latch form
    (bench/tools/plain_candidates.c)."""
    tool = os.path.join(workdir.path, "plain-candidates")
    subprocess.run(["gcc", "-O2", "-o", tool, os.path.join(bl.BENCH, "tools", "plain_candidates.c"),
                    "-lzookeeper_mt"], check=True)
    subprocess.run([tool, connect, PATH, str(count)], check=True, timeout=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--calls", type=int, default=3, help="cached calls after the first")
    ap.add_argument("--window", type=float, default=1.0)
    args = ap.parse_args()
    wd = bl.Workdir("status-cost")
    ens = daemon = None
    try:
        ens = bl.ZkEnsemble(wd, servers=1)
        ens.start(warm_up=False)
        create_plain_candidates(wd, ens.connect, args.candidates - 1)
        daemon = bl.Zkelect(wd, "self", ens.connect, PATH, 4.0).start()
        daemon.wait_ready(30)

        def quiet():
            r0 = ens.packets()[0]
            time.sleep(args.window)
            return ens.packets()[0] - r0

        baseline = min(quiet() for _ in range(2))

        def one_call():
            r0, g0 = ens.packets()[0], get_data_requests(daemon)
            t0 = time.monotonic()
            status, body = bl.http_get(daemon.url("/status"), timeout=10)
            elapsed = time.monotonic() - t0
            if status != 200:
                raise bl.BenchError("/status answered %s" % status)
            time.sleep(max(0.0, args.window - elapsed))
            ids = json.loads(body)["election"]["candidate_ids"]
            known = sum(1 for e in ids if e["id_state"] == "known")
            return {"get_data": get_data_requests(daemon) - g0,
                    "packets": ens.packets()[0] - r0 - baseline,
                    "ms": elapsed * 1000, "candidates": len(ids), "known": known}

        calls = [one_call() for _ in range(1 + args.calls)]
        lines = ["", "#### /status cost: %d candidates (1 zkelect follower + %d plain znodes), "
                 "1 ZooKeeper server" % (args.candidates, args.candidates - 1), "",
                 "| call | get_data requests (zkelect) | packets at the server (beyond a quiet "
                 "%.0fs window of %d) | ids known in the answer | answer time |"
                 % (args.window, baseline), "|---|---|---|---|---|"]
        for i, c in enumerate(calls):
            lines.append("| %s | %d | %d | %d of %d | %.1f ms |" % (
                "first" if i == 0 else "cached %d" % i, c["get_data"], c["packets"], c["known"],
                c["candidates"], c["ms"]))
        print("\n".join(lines))
    finally:
        if daemon and daemon.proc:
            daemon.proc.stop(timeout=10)
        if ens:
            ens.stop()
        wd.close()


if __name__ == "__main__":
    main()
