#!/usr/bin/python3
"""bench/footprint: memory, idle CPU and start-up time of one zkelect daemon.

With a 3-server ZooKeeper ensemble already serving:
- start -> /readyz 200: fork/exec of `zkelect run` to the first 200 of
  GET /readyz (polled every millisecond), over --starts runs (node created,
  session connected), after 3 unmeasured starts that warm ZooKeeper's JIT;
- RSS (VmRSS) after start, after 10,000 GET /status (keep-alive, reconnecting
  when the server closes) and after 1,000 long-poll cycles (each parks on
  GET /leader?index=<current>&wait=5ms until the wait lapses);
- CPU used while idle for --idle seconds: the process's utime + stime from
  /proc/<pid>/stat (exited threads included), before and after.

Usage: bench/footprint [--idle S] [--starts N] [--json FILE]
"""
import argparse
import http.client
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


def status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    raise bl.BenchError("no %s in /proc/%d/status" % (field, pid))


def rss_kb(pid):
    return int(status_field(pid, "VmRSS"))


def cpu_ns(pid):
    """CPU time of the whole process, exited threads included (utime + stime
    of /proc/<pid>/stat, in clock ticks: 10 ms steps, so measure a long
    window). Summing the live threads' schedstat would lose the time of a
    connection thread that exits inside the window."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def requests(port, paths):
    """GETs each path in turn on a keep-alive connection; returns the count of 2xx."""
    ok = 0
    conn = None
    for path in paths:
        for _ in range(3):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ok += 200 <= r.status < 300
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = None
    return ok


def wakeups(pid):
    """{thread name: context switches so far} over the daemon's threads."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                n = sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)
        except FileNotFoundError:
            continue
        out["%s/%s" % (name, tid)] = n
    return out


def start_to_ready(wd, ens, n, warmup=3):
    """Start-to-ready samples of n fresh daemons, after `warmup` unmeasured ones:
    the first requests of a kind that a just-started ZooKeeper JVM serves run
    in its interpreter, before the JIT compiles them."""
    samples = []
    for i in range(warmup + n):
        d = bl.Zkelect(wd, "s%d" % i, ens.connect, "/bench/footprint-start", 4)
        t0 = time.monotonic_ns()
        d.start()
        bl.wait_for("s%d ready" % i, lambda: bl.http_get(d.url("/readyz"), 1.0)[0] == 200, 20,
                    poll=0.001)
        if i >= warmup:
            samples.append(time.monotonic_ns() - t0)
        d.proc.stop()
    return bl.summary_ms(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()
    wd = bl.Workdir("footprint")
    ens = d = None
    try:
        ens = bl.ZkEnsemble(wd)
        ens.start()
        ready = start_to_ready(wd, ens, args.starts)
        d = bl.Zkelect(wd, "f1", ens.connect, "/bench/footprint", 4,
                       ["--hooks.on_start", '["/bin/true"]', "--hooks.on_stop", '["/bin/true"]'])
        d.start()
        d.wait_ready()
        time.sleep(1)
        pid = d.proc.pid
        rss = {"after start": rss_kb(pid)}
        threads = int(status_field(pid, "Threads"))
        ok = requests(d.port, ["/status"] * 10000)
        rss["after 10,000 GET /status (%d ok)" % ok] = rss_kb(pid)
        with urllib.request.urlopen(d.url("/leader"), timeout=5) as r:
            index = int(r.headers["X-Zkelect-Index"])
        ok = requests(d.port, ["/leader?index=%d&wait=5ms" % index] * 1000)
        rss["after 1,000 long-poll cycles (%d ok)" % ok] = rss_kb(pid)
        # The connection threads that served the requests above exit after
        # 10 s without work; the idle window starts once they have, since the
        # CPU of a thread that exits inside it would vanish from the sum.
        settle_deadline = time.monotonic() + 20
        while time.monotonic() < settle_deadline and int(status_field(pid, "Threads")) > threads:
            time.sleep(0.5)
        bl.log("idle for %ds" % args.idle)
        w0, c0, t0 = wakeups(pid), cpu_ns(pid), time.monotonic_ns()
        time.sleep(args.idle)
        c1, t1, w1 = cpu_ns(pid), time.monotonic_ns(), wakeups(pid)
        woke = sorted(((w1[k] - w0.get(k, 0)) / args.idle, k) for k in w1 if k in w0)
        woke = [(rate, k) for rate, k in reversed(woke) if rate > 0]
        idle_ms_per_s = (c1 - c0) / 1e6 / ((t1 - t0) / 1e9)
        rss["after %ds idle" % args.idle] = rss_kb(pid)
        with open("/proc/%d/smaps_rollup" % pid) as f:
            rollup = {l.split(":")[0]: int(l.split()[1]) for l in f if l.endswith("kB\n")}
        lines = ["", "#### Footprint (one daemon, leader, hooks /bin/true)", "",
                 "| measure | value |", "|---|---|"]
        for k, v in rss.items():
            lines.append("| RSS %s | %.1f MB |" % (k, v / 1024))
        lines += ["| of which anonymous (heap, stacks) / file-backed (binary, shared libraries) | "
                  "%.1f MB / %.1f MB |" % (int(status_field(pid, "RssAnon")) / 1024,
                                          int(status_field(pid, "RssFile")) / 1024),
                  "| PSS (shared library pages divided among their users) | %.1f MB |" % (
                      rollup.get("Pss", 0) / 1024),
                  "| threads | %d |" % threads,
                  "| CPU while idle for %ds | %.3f ms per second |" % (args.idle, idle_ms_per_s),
                  "| wakeups while idle (context switches/s by thread, tid) | %s |" % (
                      ", ".join("%s %.1f" % (k, rate) for rate, k in woke[:6]) or "none"),
                  "| start -> /readyz 200 (%d starts) | p50 %.1f ms, p90 %.1f ms, max %.1f ms |" % (
                      ready["n"], ready["p50"], ready["p90"], ready["max"])]
        print("\n".join(lines))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rss_kb": rss, "threads": threads, "idle_cpu_ms_per_s": idle_ms_per_s,
                           "start_to_ready_ms": ready}, f, indent=1)
    finally:
        if d and d.proc:
            d.proc.stop()
        if ens:
            ens.stop()
        wd.close()


if __name__ == "__main__":
    main()
