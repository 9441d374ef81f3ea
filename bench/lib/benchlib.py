"""Shared pieces of the zkelect benchmarks: free ports, a real 3-server
ZooKeeper ensemble, a local etcd, zkelect daemons, the stamp tool, percentiles.

Everything runs on loopback, on ports picked free at run time, in a temporary
directory that is removed at the end (kept with BENCH_KEEP=1). Every wait is
bounded in time and raises BenchError naming what did not happen.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench")

ZK_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar",
           "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar"]
JAVA = "/usr/bin/java"
JAVA_FLAGS = ["-XX:+UseSerialGC", "-XX:-UsePerfData",
              "-Djava.net.preferIPv4Stack=true"]


class BenchError(RuntimeError):
    pass


def log(msg):
    """Progress goes to stderr; stdout carries only the Markdown results."""
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_ports(n):
    """n distinct free loopback ports (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stop_all(*things):
    """Stops, in order, each of `things` that was started (not None)."""
    for thing in things:
        if thing:
            thing.stop()


def wait_for(what, predicate, timeout, poll=0.02):
    """Returns predicate()'s first truthy value within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(poll)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(values_ns):
    """p50/p90/p99/max in milliseconds of nanosecond samples."""
    ms = [v / 1e6 for v in values_ns]
    return {"n": len(ms), "p50": percentile(ms, 50), "p90": percentile(ms, 90),
            "p99": percentile(ms, 99), "max": max(ms)}


def http_get(url, timeout=2.0):
    """(status, body) of a GET, or (None, error text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return None, str(e)


class Workdir:
    """A temporary directory for one run; removed on close unless BENCH_KEEP."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="zkelect-bench-%s-" % name)

    def sub(self, name):
        p = os.path.join(self.path, name)
        os.makedirs(p, exist_ok=True)
        return p

    def close(self):
        if os.environ.get("BENCH_KEEP"):
            log("kept %s" % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


class Proc:
    """A child process in its own process group, logging to a file."""

    def __init__(self, argv, log_path, env=None, stdin=None, stdout=None):
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as out:
            self.popen = subprocess.Popen(
                argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=stdout if stdout is not None else out, stderr=out,
                env=env, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, signo=signal.SIGTERM, timeout=10.0):
        """Signals the process, then SIGKILLs its group if it outlives timeout."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signo)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


def build_stamp(workdir):
    """Compiles bench/tools/stamp.c statically (fast to exec) into workdir."""
    out = os.path.join(workdir.path, "stamp")
    subprocess.run(["gcc", "-O2", "-static", "-o", out, os.path.join(BENCH, "tools", "stamp.c")],
                   check=True)
    return out


def build_floor(workdir):
    """Compiles bench/tools/floor.c (the least ZooKeeper client of a handoff,
    on Debian's libzookeeper-mt-dev) into workdir."""
    out = os.path.join(workdir.path, "floor-participant")  # "floor" is its system's directory
    subprocess.run(["gcc", "-O2", "-o", out, os.path.join(BENCH, "tools", "floor.c"),
                    "-lzookeeper_mt"], check=True)
    return out


def build_longpoll(workdir):
    """Compiles bench/tools/longpoll.c into workdir."""
    out = os.path.join(workdir.path, "longpoll")
    subprocess.run(["gcc", "-O2", "-o", out, os.path.join(BENCH, "tools", "longpoll.c")],
                   check=True)
    return out


def zkelect_binary(variable="ZKELECT_BIN"):
    """The zkelect under test: $ZKELECT_BIN, or this tree's release build.
    variable="ZKELECT_BIN_B" names a second binary for an A/B comparison (no
    default)."""
    default = ""
    if variable == "ZKELECT_BIN":
        default = os.path.join(REPO, "build", "release", "zkelect")
    path = os.environ.get(variable, default)
    if not path or not os.access(path, os.X_OK):
        raise BenchError("no executable zkelect at %r (set %s%s)"
                         % (path, variable, ", or build it" if default else ""))
    return path


def four_letter(port, cmd, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(cmd.encode())
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


class ZkEnsemble:
    """A real 3-server ZooKeeper ensemble (Debian's zookeeper, java) on free
    loopback ports; the same way tests/support/zk_ensemble.cc starts it.

    tickTime is 50 ms. A crashed client's session ends up to 1.5 ticks after
    its timeout: the servers expire sessions once a tick (a session's deadline
    is rounded up to the next tick), and a follower reports the activity of
    its clients to the leader, which does the expiring, only when the leader
    pings it, every half tick. A crash failover is therefore at most
    timeout + 75 ms + the client's own handoff here; with a 100 ms tick,
    timeout + 150 ms, past the "+ 100 ms" of issue 5 for any client.
    initLimit and syncLimit are in ticks: they keep 5 s and 1.5 s. The
    servers fsync their transaction log before acknowledging a write
    (forceSync's default), as a production ZooKeeper does, and as etcd does."""

    def __init__(self, workdir, servers=3, tick_ms=50):
        self.workdir = workdir
        ports = free_ports(3 * servers)
        self.servers = []
        for i in range(servers):
            d = workdir.sub("zk%d" % (i + 1))
            os.makedirs(os.path.join(d, "data"), exist_ok=True)
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write("%d\n" % (i + 1))
            self.servers.append({"myid": i + 1, "dir": d, "client": ports[3 * i],
                                 "quorum": ports[3 * i + 1], "election": ports[3 * i + 2],
                                 "proc": None})
        for s in self.servers:
            with open(os.path.join(s["dir"], "zoo.cfg"), "w") as cfg:
                cfg.write("tickTime=%d\ninitLimit=%d\nsyncLimit=%d\n"
                          % (tick_ms, -(-5000 // tick_ms), -(-1500 // tick_ms)))
                cfg.write("minSessionTimeout=%d\nmaxSessionTimeout=%d\n" % (2 * tick_ms, 60000))
                cfg.write("dataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                          % (s["dir"], s["client"]))
                cfg.write("4lw.commands.whitelist=*\nadmin.enableServer=false\n")
                cfg.write("preAllocSize=1024\n")  # forceSync: the default, yes
                # All clients come from 127.0.0.1: the default limit of 60
                # connections per address and server would refuse bench/scale's
                # hundreds of candidates.
                cfg.write("maxClientCnxns=0\n")
                for p in self.servers:
                    cfg.write("server.%d=127.0.0.1:%d:%d\n" % (p["myid"], p["quorum"], p["election"]))

    @property
    def connect(self):
        return ",".join("127.0.0.1:%d" % s["client"] for s in self.servers)

    def start(self, timeout=60.0, warm_up=True):
        env = dict(os.environ)
        env.pop("JAVA_TOOL_OPTIONS", None)
        for s in self.servers:
            argv = [JAVA, "-Dzookeeper.log.dir=" + s["dir"], "-Xmx256m"] + JAVA_FLAGS + [
                "-cp", "/etc/zookeeper/conf:" + ":".join(ZK_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                os.path.join(s["dir"], "zoo.cfg")]
            s["proc"] = Proc(argv, os.path.join(s["dir"], "zookeeper.out"), env=env)
        wait_for("a serving 3-server ZooKeeper ensemble",
                 lambda: all("Mode: " in four_letter(s["client"], "srvr") for s in self.servers),
                 timeout, poll=0.2)
        log("ZooKeeper ensemble serving at %s" % self.connect)
        if warm_up and not os.environ.get("BENCH_ZK_COLD"):
            self.warm_up()

    def warm_up(self, batches=40, batch=500):
        """Drives ~50,000 requests through every server so that their JVMs
        compile the request path, as in a ZooKeeper that has been up for a
        while. A just-started server runs it interpreted: on this machine a
        write then takes about 2.6 ms at p50 instead of 0.8 ms, which would
        dominate every handoff figure (BENCH_ZK_COLD=1 skips this)."""
        from kazoo.client import KazooClient  # Debian's python3-kazoo
        start = time.monotonic()
        clients = []
        try:
            for s in self.servers:  # one session per server: each one's pipeline warms
                c = KazooClient(hosts="127.0.0.1:%d" % s["client"], timeout=10.0)
                c.start(timeout=10)
                clients.append(c)
            clients[0].ensure_path("/bench-warm-up")
            for b in range(batches):
                c = clients[b % len(clients)]
                paths = ["/bench-warm-up/n%d-" % b] * batch
                created = [r.get() for r in [c.create_async(p, b"x", ephemeral=True,
                                                            sequence=True) for p in paths]]
                fired = []  # the deletes below fire these watches: the notification path warms too
                for r in [c.exists_async(p, watch=fired.append) for p in created]:
                    r.get()
                c.get_children("/bench-warm-up")
                for r in [c.delete_async(p) for p in created]:
                    r.get()
            clients[0].delete("/bench-warm-up", recursive=True)
        finally:
            for c in clients:
                c.stop()
                c.close()
        log("ZooKeeper warmed up: %d requests in %.1f s" % (batches * batch * 3,
                                                             time.monotonic() - start))

    def packets(self):
        """Sum over servers of (packets received, packets sent) from `srvr`... via mntr."""
        received = sent = 0
        for s in self.servers:
            for line in four_letter(s["client"], "mntr").splitlines():
                key, _, value = line.partition("\t")
                if key == "zk_packets_received":
                    received += int(value)
                elif key == "zk_packets_sent":
                    sent += int(value)
        return received, sent

    def stop(self):
        for s in self.servers:
            if s["proc"]:
                s["proc"].stop(signal.SIGKILL, timeout=5)


class Etcd:
    """An etcd cluster (Debian's etcd-server) on free loopback ports: three
    members by default, the same replication as the ZooKeeper ensemble (a
    single member commits without waiting for any peer)."""

    def __init__(self, workdir, members=3):
        self.workdir = workdir
        ports = free_ports(2 * members)
        self.members = [{"name": "m%d" % i, "client": ports[2 * i], "peer": ports[2 * i + 1],
                         "dir": workdir.sub("etcd-m%d" % i), "proc": None}
                        for i in range(members)]

    @property
    def endpoint(self):
        """All client endpoints, comma-separated (etcdctl --endpoints)."""
        return ",".join("127.0.0.1:%d" % m["client"] for m in self.members)

    def start(self, timeout=30.0):
        cluster = ",".join("%s=http://127.0.0.1:%d" % (m["name"], m["peer"]) for m in self.members)
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH=os.environ.get("ETCD_UNSUPPORTED_ARCH", ""))
        for m in self.members:
            c = "http://127.0.0.1:%d" % m["client"]
            p = "http://127.0.0.1:%d" % m["peer"]
            argv = ["etcd", "--name", m["name"], "--data-dir", os.path.join(m["dir"], "data"),
                    "--listen-client-urls", c, "--advertise-client-urls", c,
                    "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                    "--initial-cluster", cluster, "--initial-cluster-state", "new",
                    "--log-level", "warn"]
            m["proc"] = Proc(argv, os.path.join(m["dir"], "etcd.log"), env=env)
        wait_for("etcd health on every member",
                 lambda: all(http_get("http://127.0.0.1:%d/health" % m["client"])[0] == 200
                             for m in self.members), timeout, poll=0.1)
        log("etcd (%d members) serving at %s" % (len(self.members), self.endpoint))

    def etcdctl(self, *args):
        return subprocess.run(["etcdctl", "--endpoints", self.endpoint] + list(args),
                              capture_output=True, text=True, timeout=10,
                              env=dict(os.environ, ETCDCTL_API="3"))

    def stop(self):
        for m in self.members:
            if m["proc"]:
                m["proc"].stop(signal.SIGTERM, timeout=5)


class Zkelect:
    """One zkelect daemon (`zkelect run`) with its HTTP API on a free port."""

    def __init__(self, workdir, ident, zk_connect, election_path, session_timeout_s,
                 extra=(), env=None, binary=None):
        self.ident = ident
        self.port = free_ports(1)[0]
        self.log_path = os.path.join(workdir.sub("zkelect-" + ident), "zkelect.log")
        self.argv = [binary or zkelect_binary(), "run", "--id", ident, "--zk.servers", zk_connect,
                     "--zk.session_timeout", "%gs" % session_timeout_s,
                     "--http.listen", "127.0.0.1:%d" % self.port,
                     "--election.path", election_path] + list(extra)
        self.env = env
        self.proc = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self):
        self.proc = Proc(self.argv, self.log_path, env=self.env)
        return self

    def wait_ready(self, timeout=20.0):
        wait_for("zkelect %s /readyz 200" % self.ident,
                 lambda: http_get(self.url("/readyz"))[0] == 200, timeout)
