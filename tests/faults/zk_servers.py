"""A real 3-server ZooKeeper ensemble, one server per network namespace.

The servers are Debian's `zookeeper` package run as QuorumPeerMain (as
tests/support/zk_ensemble.cc does for the integration tests), tick 200 ms,
every four-letter word allowed (the harness finds the ensemble's leader with
`srvr`). Every server listens on its own namespace's address, so the fixed
ports 2181/2888/3888 cannot collide with another run.
"""

import os
import signal
import socket
import subprocess
import time

JAVA = "/usr/bin/java"
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
# Without slf4j's simple binding (libslf4j-java) ZooKeeper 3.8 logs nothing.
SLF4J_SIMPLE_JAR = "/usr/share/java/slf4j-simple.jar"
CLIENT_PORT = 2181
TICK_MS = 200


def four_letter(address, word, timeout_s=1.0):
    """Sends a four-letter word to address:2181; the answer, or None."""
    try:
        with socket.create_connection((address, CLIENT_PORT), timeout=timeout_s) as sock:
            sock.sendall(word.encode())
            chunks = []
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return None


def parse_mode(srvr):
    """The "Mode:" of a srvr answer (leader, follower, standalone), or None."""
    for line in (srvr or "").splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):].strip()
    return None


class ZkServer:
    def __init__(self, myid, ns, address, directory):
        self.myid = myid
        self.ns = ns
        self.address = address
        self.dir = directory
        self.process = None
        self.expected_down = True

    def running(self):
        return self.process is not None and self.process.poll() is None


class ZkEnsemble:
    """The ensemble of one run. Not thread-safe: the harness's main thread."""

    def __init__(self, netlab, root, count=3):
        self.servers = []
        for myid in range(1, count + 1):
            ns, address = netlab.add_node(f"zk{myid}", 10 + myid)
            directory = os.path.join(root, f"zk{myid}")
            os.makedirs(os.path.join(directory, "data"), exist_ok=True)
            with open(os.path.join(directory, "data", "myid"), "w") as f:
                f.write(f"{myid}\n")
            self.servers.append(ZkServer(myid, ns, address, directory))
        for server in self.servers:
            self._write_config(server)

    def connect_string(self):
        return ",".join(f"{s.address}:{CLIENT_PORT}" for s in self.servers)

    def _write_config(self, server):
        lines = [
            f"tickTime={TICK_MS}", "initLimit=50", "syncLimit=15",
            f"minSessionTimeout={2 * TICK_MS}", f"maxSessionTimeout={20 * TICK_MS}",
            f"dataDir={server.dir}/data", f"clientPort={CLIENT_PORT}",
            f"clientPortAddress={server.address}", "4lw.commands.whitelist=*",
            "admin.enableServer=false",
            # Throw-away data: no fsync, no 64 MB log preallocation.
            "forceSync=no", "preAllocSize=1024",
        ]
        lines += [f"server.{p.myid}={p.address}:2888:3888" for p in self.servers]
        with open(os.path.join(server.dir, "zoo.cfg"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, server):
        """Starts `server` (no-op if running) inside its namespace."""
        if server.running():
            return
        classpath = "/etc/zookeeper/conf:" + ZOOKEEPER_JAR
        if os.access(SLF4J_SIMPLE_JAR, os.R_OK):
            classpath += ":" + SLF4J_SIMPLE_JAR
        argv = ["ip", "netns", "exec", server.ns, JAVA,
                f"-Dzookeeper.log.dir={server.dir}",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-Djava.net.preferIPv4Stack=true", "-Xmx128m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-cp", classpath,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                os.path.join(server.dir, "zoo.cfg")]
        env = dict(os.environ)
        env.pop("JAVA_TOOL_OPTIONS", None)  # would print a banner and may change flags
        log = open(os.path.join(server.dir, "zookeeper.out"), "ab")
        # `ip netns exec` execs java: the child's pid is the JVM's.
        server.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=server.dir, env=env,
                                          start_new_session=True)
        log.close()
        server.expected_down = False

    def kill(self, server):
        """SIGKILLs `server` and reaps it."""
        server.expected_down = True
        if server.running():
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)

    def stop(self, server):
        """SIGTERM, then SIGKILL after 10 s."""
        server.expected_down = True
        if not server.running():
            return
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill(server)

    def mode(self, server):
        return parse_mode(four_letter(server.address, "srvr")) if server.running() else None

    def connections(self, server):
        """The server's `cons` answer (one line per client connection), or None."""
        return four_letter(server.address, "cons") if server.running() else None

    def leader(self):
        """The server whose srvr says "Mode: leader", or None."""
        for server in self.servers:
            if self.mode(server) == "leader":
                return server
        return None

    def wait_serving(self, timeout_s):
        """Waits until every running server is a leader or follower, they
        are a quorum and one leads. True if so within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            modes = [self.mode(s) for s in self.servers if s.running()]
            serving = [m for m in modes if m in ("leader", "follower")]
            quorum = len(serving) * 2 > len(self.servers)
            if "leader" in serving and quorum and len(serving) == len(modes):
                return True
            time.sleep(0.05)
        return False

    def died(self):
        """Servers that exited although the harness did not stop them."""
        return [s for s in self.servers if not s.expected_down and not s.running()]

    def shutdown(self):
        for server in self.servers:
            self.kill(server)
