#!/usr/bin/python3
"""bench/handoff-trace: where the time of one zkelect handoff goes, on the wire.

Three zkelect daemons (stamp hooks, as in bench/failover) on a warmed-up
3-server ZooKeeper ensemble; tcpdump records the ZooKeeper client ports on
loopback while the leader gets SIGTERM, --rounds times. For each handoff it
prints, in ms from the signal, the old leader's stop stamp, every ZooKeeper
packet with a payload (who sent it to whom, its size) and the successor's
start stamp. Packet sizes tell the requests apart: for the bench's election
path, 87 bytes is a delete, 27 a listing of the children, 84 a read of a
node, 8 closeSession; a 4-byte packet is the C client's length prefix.

Then a summary over the rounds (medians):
  signal -> stop stamp          the old leader's election loop and hook spawn
  stop stamp -> delete sent     the stop hook runs and is reaped, the delete goes out
  delete sent -> notified       ZooKeeper's quorum write, until the successor's
                                watch notification is on the wire
  notified -> requests sent     the successor's client, loop and pipelined requests
  requests sent -> last answer  ZooKeeper answering the listing and the read
  last answer -> start stamp    the successor claims and spawns its start hook

Needs root for tcpdump (packet capture on lo). Usage:
  bench/handoff-trace [--rounds N]
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from failover import ZkelectSystem  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

DELETE, LISTING, READ = 87, 27, 84


def daemon_ports(system, zk_ports):
    """Local port of each daemon's ZooKeeper connection -> "d<slot>"."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=True).stdout
    names = {}
    for line in out.splitlines():
        fields = line.split()
        local = int(fields[3].rsplit(":", 1)[1])
        peer = int(fields[4].rsplit(":", 1)[1])
        pid = re.search(r"pid=(\d+)", line)
        if peer not in zk_ports or not pid:
            continue
        for slot, proc in enumerate(system.procs):
            if proc and proc.pid == int(pid.group(1)):
                names[local] = "d%d" % slot
    return names


def read_packets(pcap, offset_ns):
    out = subprocess.run(["tcpdump", "-r", pcap, "-nn", "-tt", "--time-stamp-precision=nano"],
                         capture_output=True, text=True, check=True).stdout
    packets = []
    for line in out.splitlines():
        m = re.match(r"(\d+)\.(\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): .* length (\d+)",
                     line)
        if m and int(m.group(5)) > 0:
            stamp = int(m.group(1)) * 10**9 + int(m.group(2)) - offset_ns  # -> CLOCK_MONOTONIC
            packets.append((stamp, int(m.group(3)), int(m.group(4)), int(m.group(5))))
    return packets


def split(handoff, packets):
    """The stages of one handoff (ns), or None when a packet is missing."""
    old, new = "d%d" % handoff["old"], "d%d" % handoff["new"]
    names = handoff["names"]
    mine = [(t, names.get(s, s), names.get(d, d), n) for t, s, d, n in packets
            if handoff["t0"] <= t <= handoff["t1"]]
    delete = next((t for t, s, _, n in mine if s == old and n == DELETE), None)
    notified = next((t for t, _, d, n in mine if d == new and delete and t > delete), None)
    sent = [t for t, s, _, n in mine if s == new and n in (LISTING, READ) and notified and
            t > notified]
    answers = [t for t, _, d, n in mine if d == new and sent and t > sent[-1]]
    if not (delete and handoff["stop"] and notified and sent and answers):
        return None
    return {"signal -> stop stamp": handoff["stop"] - handoff["t0"],
            "stop stamp -> delete sent": delete - handoff["stop"],
            "delete sent -> notified": notified - delete,
            "notified -> requests sent": sent[-1] - notified,
            "requests sent -> last answer": answers[-1] - sent[-1],
            "last answer -> start stamp": handoff["t1"] - answers[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    wd = bl.Workdir("handoff-trace")
    ens = zk = system = tcpdump = None
    try:
        ens = bl.ZkEnsemble(wd)
        ens.start()
        zk = KazooClient(hosts=ens.connect)
        zk.start()
        zk.ensure_path("/bench/zkelect")
        system = ZkelectSystem(wd, 2, ens, zk, bl.build_stamp(wd))
        system.bring_up()
        zk_ports = {s["client"] for s in ens.servers}
        pcap = os.path.join(wd.path, "lo.pcap")
        tcpdump = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-w", pcap, "-U", "--time-stamp-precision=nano",
             " or ".join("port %d" % p for p in zk_ports)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        offset = time.time_ns() - time.monotonic_ns()
        handoffs = []
        for r in range(args.rounds):
            names = daemon_ports(system, zk_ports)
            names.update({s["client"]: "zk%d" % s["myid"] for s in ens.servers})
            moments = system.round("graceful")
            handoffs.append(dict(moments, names=names))
            bl.log("handoff %d/%d: %.2f ms" % (r + 1, args.rounds,
                                                (moments["t1"] - moments["t0"]) / 1e6))
            time.sleep(0.3)
        time.sleep(0.5)
        tcpdump.send_signal(signal.SIGINT)
        tcpdump.wait()
        tcpdump = None
        packets = read_packets(pcap, offset)
        stages = []
        for h in handoffs:
            print("\nhandoff d%d -> d%d: %.2f ms (stop stamp at %s)" % (
                h["old"], h["new"], (h["t1"] - h["t0"]) / 1e6,
                "%.2f ms" % ((h["stop"] - h["t0"]) / 1e6) if h["stop"] else "?"))
            for t, s, d, n in packets:
                if h["t0"] <= t <= h["t1"]:
                    print("  %7.3f ms  %s -> %s  %d bytes" % (
                        (t - h["t0"]) / 1e6, h["names"].get(s, s), h["names"].get(d, d), n))
            one = split(h, packets)
            if one:
                stages.append(one)
        print("\n#### A handoff on the wire, medians of %d handoffs, ms\n" % len(stages))
        print("| stage | median | min | max |\n|---|---|---|---|")
        for key in (stages[0] if stages else {}):
            values = [s[key] / 1e6 for s in stages]
            print("| %s | %.2f | %.2f | %.2f |" % (key, statistics.median(values), min(values),
                                                   max(values)))
    finally:
        if tcpdump:
            tcpdump.kill()
        bl.stop_all(system, zk, ens)
        wd.close()


if __name__ == "__main__":
    main()
