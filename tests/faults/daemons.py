"""zkelect daemons of one run, one per network namespace.

Every daemon runs the release binary with the fault hook logger as its start
and stop hook, listens for HTTP on its namespace's address (port 4040), and
writes its log to <run dir>/<id>.log. Its health check (every 100 ms, one
verdict turns it) fails while the file <run dir>/<id>.unhealthy exists. Its
on_change hook is chatty (5000 lines as fast as it can write them, then a
pause of up to 0.3 s): a stop that comes during it waits for it, and its
output must not hold up the timeout or the daemon. The harness is in the bridge namespace
and reaches every daemon's HTTP API over br0.

With priorities (harness --priorities), each daemon also reads a
configuration file, <run dir>/<id>.toml, that holds only its [election]
priority (and preempt, preempt_delay with --preempt): every other setting is
a flag as without priorities, and flags win over the file, so a reload
(SIGHUP) can change only what the file holds. The file outlives the daemon's
restarts: a daemon started again keeps the priority it had.
"""

import http.client
import json
import os
import random
import signal
import subprocess
import time

HTTP_PORT = 4040


class Daemon:
    """One daemon id; its process is replaced on each restart."""

    def __init__(self, daemon_id, ns, address, log_path):
        self.id = daemon_id
        self.ns = ns
        self.address = address
        self.log_path = log_path
        self.process = None
        self.expected_down = True
        self.paused = False
        self.starts = 0
        self.unhealthy_path = os.path.splitext(log_path)[0] + ".unhealthy"
        self.config_path = os.path.splitext(log_path)[0] + ".toml"
        self.priority = None  # election.priority, when the run sets priorities

    def running(self):
        return self.process is not None and self.process.poll() is None

    def is_leader(self, timeout_s=0.5):
        """True when GET /is-leader answers 200 within `timeout_s`."""
        if not self.running() or self.paused:
            return False
        try:
            conn = http.client.HTTPConnection(self.address, HTTP_PORT, timeout=timeout_s)
            conn.request("GET", "/is-leader")
            status = conn.getresponse().status
            conn.close()
            return status == 200
        except OSError:
            return False

    def status(self, timeout_s=1.0):
        """GET /status as a dict, or None."""
        try:
            conn = http.client.HTTPConnection(self.address, HTTP_PORT, timeout=timeout_s)
            conn.request("GET", "/status")
            body = conn.getresponse().read()
            conn.close()
            return json.loads(body)
        except (OSError, ValueError):
            return None

    def own_node(self, timeout_s=1.0):
        """Our node's name from GET /status, or None."""
        return (self.status(timeout_s) or {}).get("election", {}).get("own_node")

    def set_healthy(self, healthy):
        if healthy:
            if os.path.exists(self.unhealthy_path):
                os.unlink(self.unhealthy_path)
        else:
            open(self.unhealthy_path, "w").close()


class DaemonSet:
    """Starts, kills, pauses and stops the daemons. Not thread-safe."""

    def __init__(self, netlab, run_dir, options, connect_string, emit):
        self._options = options
        self._connect_string = connect_string
        self._emit = emit
        self.daemons = []
        for n in range(1, options.daemons + 1):
            ns, address = netlab.add_node(f"d{n}", 100 + n)
            self.daemons.append(Daemon(f"d{n}", ns, address, os.path.join(run_dir, f"d{n}.log")))
        self._hook_log = os.path.join(run_dir, "hooks.log")
        if options.priorities:
            # Its own generator: the faults draw the same with or without.
            rng = random.Random(f"{options.seed}-priorities")
            for daemon in self.daemons:
                daemon.priority = rng.choice(options.priorities)
                self._write_config(daemon)
                emit("daemon_priority", id=daemon.id, priority=daemon.priority)

    def _write_config(self, daemon):
        """<id>.toml with the daemon's priority (and preemption), replaced
        whole by a rename: a reload never reads half a file."""
        o = self._options
        lines = ["[election]", f"priority = {daemon.priority}"]
        if o.preempt:
            lines += ["preempt = true", f'preempt_delay = "{int(o.preempt_delay * 1000)}ms"']
        tmp = daemon.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(tmp, daemon.config_path)

    def set_priority(self, daemon, priority, timeout_s=5.0):
        """Rewrites the daemon's file with `priority`, sends SIGHUP and waits
        until its /status shows it. Returns the priority /status last showed
        (None if it never answered)."""
        daemon.priority = priority
        self._write_config(daemon)
        seen = None
        if not daemon.running():
            return seen
        daemon.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = (daemon.status() or {}).get("priority", seen)
            if seen == priority:
                break
            time.sleep(0.05)
        return seen

    def _argv(self, daemon):
        o = self._options
        start_hook = json.dumps([o.hook, self._hook_log, str(o.start_hook_ms)])
        stop_hook = json.dumps([o.hook, self._hook_log, str(o.stop_hook_ms)])
        config = daemon.config_path if o.priorities else ""
        return ["ip", "netns", "exec", daemon.ns, o.zkelect, "run", "--config", config,
                "--id", daemon.id, "--address", daemon.address,
                "--zk.servers", self._connect_string,
                "--zk.session_timeout", f"{o.session_timeout_ms}ms",
                "--election.path", o.election_path,
                "--http.listen", f"{daemon.address}:{HTTP_PORT}",
                "--hooks.on_start", start_hook, "--hooks.on_stop", stop_hook,
                "--hooks.timeout", "10s",
                "--hooks.on_change", json.dumps(
                    ["sh", "-c", "yes chatty | head -n 5000; sleep 0.$(( $$ % 3 ))"]),
                "--health.command", json.dumps(["test", "!", "-e", daemon.unhealthy_path]),
                "--health.interval", "100ms", "--health.timeout", "1s",
                "--health.rise", "1", "--health.fall", "1"] + (
                    ["--election.recheck_interval", f"{int(o.recheck_interval * 1000)}ms"]
                    if o.recheck_interval else [])

    def start(self, daemon):
        log = open(daemon.log_path, "ab")
        # `ip netns exec` execs zkelect: the child's pid is the daemon's.
        daemon.process = subprocess.Popen(self._argv(daemon), stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        daemon.expected_down = False
        daemon.paused = False
        daemon.starts += 1
        self._emit("daemon_start", id=daemon.id, pid=daemon.process.pid)

    def kill(self, daemon):
        """SIGKILL, reaped. Its hooks, if any run, are left to finish."""
        daemon.expected_down = True
        if daemon.running():
            daemon.process.send_signal(signal.SIGKILL)
            daemon.process.wait(timeout=10)
        daemon.paused = False
        self._emit("daemon_kill", id=daemon.id)

    def pause(self, daemon):
        daemon.process.send_signal(signal.SIGSTOP)
        daemon.paused = True
        self._emit("daemon_pause", id=daemon.id)

    def resume(self, daemon):
        daemon.process.send_signal(signal.SIGCONT)
        daemon.paused = False
        self._emit("daemon_resume", id=daemon.id)

    def terminate(self, daemon, timeout_s):
        """SIGTERM and wait: the exit status, or None if it had to be killed."""
        self.send_term(daemon)
        return self.wait_exit(daemon, timeout_s)

    def send_term(self, daemon):
        """SIGTERM without waiting (see wait_exit)."""
        daemon.expected_down = True
        if daemon.paused:
            self.resume(daemon)
        if daemon.running():
            daemon.process.send_signal(signal.SIGTERM)

    def wait_exit(self, daemon, timeout_s):
        """The exit status after send_term, or None if it had to be killed."""
        if daemon.process is None:
            return None
        try:
            return daemon.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            daemon.process.send_signal(signal.SIGKILL)
            daemon.process.wait(timeout=10)
            return None

    def leaders(self):
        return [d for d in self.daemons if d.is_leader()]

    def check_unexpected_exits(self):
        """Emits daemon_exit (unexpected) for each daemon that died by itself;
        returns them. Such a daemon is not restarted: that is violation (e)."""
        dead = []
        for daemon in self.daemons:
            if not daemon.expected_down and not daemon.running():
                daemon.expected_down = True
                self._emit("daemon_exit", id=daemon.id, code=daemon.process.returncode,
                           expected=False)
                dead.append(daemon)
        return dead
