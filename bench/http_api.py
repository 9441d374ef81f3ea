#!/usr/bin/python3
"""bench/http: zkelect's HTTP API under load, next to nginx as the ceiling.

1. wrk (keep-alive) against GET /is-leader and GET /status of a leader, and
   against nginx serving a static file of the same size as the /status body,
   in the same run, with the same wrk settings.
2. Long-poll fan-out: N waiters parked on a follower's GET /leader?index=I,
   /healthz latency measured (wrk) while they are parked, then POST /resign on
   the leader; when each waiter got the answer that names the new leader
   (bench/tools/longpoll.c, one epoll thread, CLOCK_MONOTONIC; an answer for
   another change of the view is re-polled, as a client would). --rounds
   rounds, the two daemons taking turns as the leader.

Usage: bench/http [--duration S] [--connections C] [--waiters N] [--rounds R]
                  [--fanout-only] [--json FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

NGINX_CONF = """daemon off;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  default_type application/json;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location / {{ }}
  }}
}}
"""


def start_nginx(wd, body):
    d = wd.sub("nginx")
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    # nginx's workers (www-data when started as root) must reach the file.
    for path in (wd.path, d, os.path.join(d, "www")):
        os.chmod(path, 0o755)
    with open(os.path.join(d, "www", "status.json"), "wb") as f:
        f.write(body)
    port = bl.free_ports(1)[0]
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port))
    proc = bl.Proc(["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")],
                   os.path.join(d, "nginx.out"))
    url = "http://127.0.0.1:%d/status.json" % port
    try:
        bl.wait_for("nginx serving %s" % url, lambda: bl.http_get(url)[0] == 200, 10)
    except bl.BenchError:
        proc.stop()
        raise
    return proc, url


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url, duration, connections, threads=2):
    """Runs wrk; returns req/s, non-2xx count and latency percentiles in ms."""
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration,
                          "--latency", url], capture_output=True, text=True, check=True,
                         timeout=duration + 60).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or
                             re.match("()", "0")).group(1) or 0)}
    for p in ("50", "90", "99"):
        result["p" + p] = to_ms(re.search(r"\s%s%%\s+(\S+)" % p, out).group(1))
    result["errors"] = (re.search(r"Socket errors: (.*)", out) or re.match("()", "")).group(1)
    return result


def fanout(wd, follower, leader, waiters, healthz_seconds, tools):
    """One fan-out round: parks `waiters` long-polls on the follower's /leader,
    measures /healthz meanwhile (unless healthz_seconds is 0), then resigns the
    leader. A waiter has its answer when a body names the new leader (the
    follower, the only other candidate); an answer for another change of the
    follower's view is re-polled from its index, as a client would. Times are
    from the POST /resign."""
    with urllib.request.urlopen(follower.url("/leader"), timeout=5) as r:
        index = int(r.headers["X-Zkelect-Index"])
    ready = os.path.join(wd.path, "parked")
    if os.path.exists(ready):
        os.remove(ready)
    poller = subprocess.Popen([tools["longpoll"], "127.0.0.1", str(follower.port),
                               "/leader?wait=60s", str(index), str(waiters), ready,
                               '"id":"%s"' % follower.ident],
                              stdout=subprocess.PIPE, text=True)
    bl.wait_for("%d parked long-polls" % waiters, lambda: os.path.exists(ready), 60)
    health = (wrk(follower.url("/healthz"), healthz_seconds, 4, threads=1)
              if healthz_seconds else None)
    t0 = time.monotonic_ns()
    req = urllib.request.Request(leader.url("/resign"), method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=30) as r:
        resign_status = r.status
    out, _ = poller.communicate(timeout=150)
    answers = [line.split() for line in out.splitlines()]
    times = sorted(int(t) for s, t, _ in answers if s != "none")
    codes = {}
    for s, _, _ in answers:
        codes[s] = codes.get(s, 0) + 1
    return {"waiters": waiters, "resign_status": resign_status, "codes": codes,
            "answered": len(times),
            "repolled": sum(1 for _, _, polls in answers if int(polls) > 1),
            "first_ms": (times[0] - t0) / 1e6 if times else None,
            "last_ms": (times[-1] - t0) / 1e6 if times else None,
            "spread_ms": (times[-1] - times[0]) / 1e6 if times else None,
            "healthz": health}


def fanout_rounds(wd, daemons, waiters, rounds, tools):
    """`rounds` fan-out rounds; the leader alternates (the resigned one rejoins
    at the back), so each round parks on the daemon that followed before."""
    results = []
    leader, follower = daemons
    for r in range(rounds):
        bl.wait_for("%s leads" % leader.ident,
                    lambda: bl.http_get(leader.url("/is-leader"))[0] == 200, 10)
        bl.wait_for("%s ready and knowing the leader" % follower.ident,
                    lambda: bl.http_get(follower.url("/readyz"))[0] == 200 and
                    bl.http_get(follower.url("/leader"))[0] == 200, 10)
        bl.log("long-poll fan-out round %d/%d with %d waiters" % (r + 1, rounds, waiters))
        results.append(fanout(wd, follower, leader, waiters, 5 if r == 0 else 0, tools))
        leader, follower = follower, leader
    return results


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def fanout_lines(fans):
    lines = ["", "#### Long-poll fan-out (%d waiters on a follower's /leader, then POST /resign "
             "on the leader), %d rounds" % (fans[0]["waiters"], len(fans)), "",
             "| round | answered with the new leader | re-polled | resign -> first | "
             "resign -> last | first -> last |", "|---|---|---|---|---|---|"]
    for i, fan in enumerate(fans):
        lines.append("| %d | %d %s | %d | %.1f ms | %.1f ms | %.1f ms |" % (
            i + 1, fan["answered"], fan["codes"], fan["repolled"], fan["first_ms"] or -1,
            fan["last_ms"] or -1, fan["spread_ms"] or -1))
    if len(fans) > 1:
        lines.append("| median | | | %.1f ms | %.1f ms | %.1f ms |" % tuple(
            median([f[k] or -1 for f in fans]) for k in ("first_ms", "last_ms", "spread_ms")))
    lines += ["", "An answer counts when its body names the new leader; \"re-polled\": waiters "
              "first answered for another change of the follower's view, which re-polled from "
              "its index. resign -> first: the old leader's stop, its node's deletion, the "
              "follower's watch and re-read; first -> last: the fan-out to every waiter."]
    h = fans[0]["healthz"]
    lines += ["", "/healthz while they were parked (wrk -t1 -c4 -d5s): %.0f req/s, p50 %.3f ms,"
              " p99 %.3f ms, non-2xx %d" % (h["rps"], h["p50"], h["p99"], h["non2xx"])]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--waiters", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5, help="long-poll fan-out rounds")
    ap.add_argument("--fanout-only", action="store_true", help="skip the wrk throughput runs")
    ap.add_argument("--json")
    args = ap.parse_args()
    wd = bl.Workdir("http")
    ens = nginx = None
    daemons = []
    try:
        tools = {"longpoll": bl.build_longpoll(wd)}
        ens = bl.ZkEnsemble(wd)
        ens.start()
        extra = ["--http.max_waiters", str(args.waiters + 100)]
        leader = bl.Zkelect(wd, "h1", ens.connect, "/bench/http", 4, extra).start()
        leader.wait_ready()
        follower = bl.Zkelect(wd, "h2", ens.connect, "/bench/http", 4, extra).start()
        follower.wait_ready()
        daemons = [leader, follower]
        bl.wait_for("h1 leads", lambda: bl.http_get(leader.url("/is-leader"))[0] == 200, 10)
        lines = []
        rows = []
        if not args.fanout_only:
            status_body = bl.http_get(leader.url("/status"))[1]
            nginx, nginx_url = start_nginx(wd, status_body)
            for name, url in (("zkelect GET /is-leader", leader.url("/is-leader")),
                              ("zkelect GET /status", leader.url("/status")),
                              ("nginx static file, %d bytes" % len(status_body), nginx_url)):
                bl.log("wrk %s" % name)
                rows.append((name, wrk(url, args.duration, args.connections)))
            lines += ["", "#### HTTP throughput (wrk -t2 -c%d -d%ds, keep-alive)" % (
                args.connections, args.duration), "",
                "| target | req/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors |",
                "|---|---|---|---|---|---|---|"]
            for name, r in rows:
                lines.append("| %s | %.0f | %.3f | %.3f | %.3f | %d | %s |" % (
                    name, r["rps"], r["p50"], r["p90"], r["p99"], r["non2xx"],
                    r["errors"] or "none"))
            nginx_rps = rows[2][1]["rps"]
            lines += ["", "/is-leader at %.0f%% of nginx's static rate, /status at %.0f%%." % (
                100 * rows[0][1]["rps"] / nginx_rps, 100 * rows[1][1]["rps"] / nginx_rps)]
        fans = fanout_rounds(wd, daemons, args.waiters, args.rounds, tools)
        lines += fanout_lines(fans)
        print("\n".join(lines))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"wrk": dict(rows), "fanout": fans[0], "fanout_rounds": fans}, f,
                          indent=1)
    finally:
        if nginx:
            nginx.stop()
        for d in daemons:
            d.proc.stop()
        if ens:
            ens.stop()
        wd.close()


if __name__ == "__main__":
    main()
