"""Network namespaces of one harness run.

Layout (every address lives in a namespace that the run created):

    <prefix>-br    bridge namespace: bridge br0 = 198.18.0.1/24; the harness
                   and its sampler run here (see NetLab.enter_bridge)
    <prefix>-zkN   one ZooKeeper server each, eth0 = 198.18.0.1N
    <prefix>-dN    one zkelect daemon each, eth0 = 198.18.0.(100+N)

Each node namespace is joined to br0 by a veth pair whose bridge end is
created inside the bridge namespace, so interface names never meet those of
another run or of the host. 198.18.0.0/15 is the range RFC 2544 sets aside
for network tests. The prefix is "zf<pid of the harness>", which makes
concurrent runs distinct and lets a later run recognise the leftovers of a
dead one (clean_leftovers).

A partition is an nftables table "zkfault" inside the cut-off node's
namespace that DROPs (never rejects) packets to and from the given peers, so
the cut looks like a silent network, not a closed socket.
"""

import ctypes
import os
import re
import signal
import subprocess
import time

SUBNET = "198.18.0."
BRIDGE_ADDRESS = SUBNET + "1"
_CLONE_NEWNET = 0x40000000
_NAME_RE = re.compile(r"^zf(\d+)-[a-z0-9]+$")
_COMMAND_TIMEOUT_S = 30


def run(argv, stdin_text=None, check=True):
    """Runs a short command (ip, nft), raising with its stderr on failure."""
    result = subprocess.run(argv, input=stdin_text, capture_output=True, text=True,
                            timeout=_COMMAND_TIMEOUT_S, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def list_namespaces():
    """Names of every named network namespace on the host."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def destroy_namespace(name):
    """SIGKILLs every process left in namespace `name`, then deletes it."""
    pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run(["ip", "netns", "del", name], check=False)


def clean_leftovers(log=print):
    """Deletes namespaces of earlier runs whose harness process is gone.

    Namespaces of runs that are still alive (another harness, e.g. CI next to
    a long run) are left alone. Returns the names deleted.
    """
    removed = []
    for name in list_namespaces():
        match = _NAME_RE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            destroy_namespace(name)
            removed.append(name)
    if removed:
        log(f"netlab: removed leftovers of a dead run: {' '.join(removed)}")
    return removed


def _setns(fd):
    """Moves the calling thread into the network namespace open at `fd`."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


class NetLab:
    """The namespaces, veths and partitions of one run. Not thread-safe."""

    def __init__(self, prefix=None):
        self.prefix = prefix or f"zf{os.getpid()}"
        self.bridge_ns = f"{self.prefix}-br"
        self._created = []          # namespaces, in creation order
        self._partitioned = set()   # node names with a "zkfault" table
        self._home_ns = os.open("/proc/self/ns/net", os.O_RDONLY)

    def create_bridge(self):
        """Creates the bridge namespace with br0 at BRIDGE_ADDRESS."""
        self._add_namespace(self.bridge_ns)
        ns = self.bridge_ns
        run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", ns, "addr", "add", BRIDGE_ADDRESS + "/24", "dev", "br0"])
        run(["ip", "-n", ns, "link", "set", "br0", "up"])

    def add_node(self, name, host):
        """Creates namespace <prefix>-<name> with eth0 = 198.18.0.<host> on br0.

        Returns (namespace, address).
        """
        ns = self.namespace(name)
        self._add_namespace(ns)
        bridge_end = f"v-{name}"
        run(["ip", "-n", self.bridge_ns, "link", "add", bridge_end, "type", "veth",
             "peer", "name", "eth0", "netns", ns])
        run(["ip", "-n", self.bridge_ns, "link", "set", bridge_end, "master", "br0", "up"])
        address = f"{SUBNET}{host}"
        run(["ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        return ns, address

    def namespace(self, name):
        return f"{self.prefix}-{name}"

    def enter_bridge(self):
        """Moves the calling process into the bridge namespace.

        Call before starting any thread: setns() moves only the calling
        thread, and threads started later inherit it.
        """
        fd = os.open(f"/run/netns/{self.bridge_ns}", os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def partition(self, name, peers):
        """DROPs every packet between node `name` and the addresses `peers`."""
        addresses = ", ".join(peers)
        ruleset = (
            "table inet zkfault {\n"
            "  chain in { type filter hook input priority 0;"
            f" ip saddr {{ {addresses} }} drop; }}\n"
            "  chain out { type filter hook output priority 0;"
            f" ip daddr {{ {addresses} }} drop; }}\n"
            "}\n")
        run(["ip", "netns", "exec", self.namespace(name), "nft", "-f", "-"], stdin_text=ruleset)
        self._partitioned.add(name)

    def heal(self, name):
        """Removes the partition of node `name` (no-op without one)."""
        if name in self._partitioned:
            run(["ip", "netns", "exec", self.namespace(name), "nft", "delete", "table", "inet",
                 "zkfault"])
            self._partitioned.discard(name)

    def destroy(self):
        """Leaves the bridge namespace, kills what is left inside the run's
        namespaces and deletes them (their veths go with them). Idempotent."""
        _setns(self._home_ns)
        for ns in reversed(self._created):
            destroy_namespace(ns)
        self._created.clear()
        self._partitioned.clear()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not any(ns.startswith(self.prefix + "-") for ns in list_namespaces()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"netlab: namespaces {self.prefix}-* still present after cleanup")

    def _add_namespace(self, ns):
        if ns in list_namespaces():
            raise RuntimeError(f"netlab: namespace {ns} already exists")
        run(["ip", "netns", "add", ns])
        self._created.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
