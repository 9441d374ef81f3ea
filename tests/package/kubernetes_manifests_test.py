#!/usr/bin/env python3
"""Checks docker/kubernetes/ against the real zkelect binary:

- every file parses as YAML, every object has apiVersion, kind and a name,
  and kustomization.yaml lists exactly the other files;
- the Deployment's zkelect sidecar probes through `zkelect check live`
  (liveness) and `zkelect check ready` (readiness), takes its id and address
  from the downward API, and mounts the ConfigMap and the Secret that the
  manifests define at the paths the configuration names;
- every ZKELECT_* variable it sets is one zkelect knows (`zkelect run
  --help` lists each key's variable);
- the ConfigMap's zkelect.toml plus that environment, loaded by a real
  `zkelect run` (mounts replaced by temporary files, the downward API by
  example values), is accepted and takes effect: the daemon starts with the
  pod name as id and the configured election path and ZooKeeper servers.

    kubernetes_manifests_test.py ZKELECT_BINARY MANIFEST_DIR
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

POD_NAME = "myapp-7d9f8c6b5-x2x7q"
POD_IP = "10.1.2.3"


def fail(message):
    sys.exit(f"FAILED: {message}")


def load_objects(manifest_dir):
    objects, files = [], sorted(f for f in os.listdir(manifest_dir) if f.endswith(".yaml"))
    for name in files:
        with open(os.path.join(manifest_dir, name), encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                for key in ("apiVersion", "kind"):
                    if key not in doc:
                        fail(f"{name}: an object without {key}")
                if doc["kind"] != "Kustomization" and not doc.get("metadata", {}).get("name"):
                    fail(f"{name}: {doc['kind']} without metadata.name")
                objects.append((name, doc))
    kustomization = [doc for _, doc in objects if doc["kind"] == "Kustomization"]
    listed = sorted(kustomization[0]["resources"]) if kustomization else []
    expected = sorted(f for f in files if f != "kustomization.yaml")
    if listed != expected:
        fail(f"kustomization.yaml lists {listed}, the directory holds {expected}")
    print(f"parsed {len(objects)} objects from {len(files)} files")
    return [doc for _, doc in objects]


def find(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    if len(found) != 1:
        fail(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def expand(value, env):
    """Kubernetes' $(VAR) expansion of an env value from earlier variables."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def sidecar_environment(container):
    downward = {"metadata.name": POD_NAME, "status.podIP": POD_IP}
    env = {}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand(entry["value"], env)
        else:
            env[entry["name"]] = downward[entry["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def check_sidecar(objects, deployment, binary):
    pod = deployment["spec"]["template"]["spec"]
    sidecar = next((c for c in pod["containers"] if c["name"] == "zkelect"), None)
    if sidecar is None:
        fail("no container named zkelect in the Deployment")
    probes = {"livenessProbe": ["zkelect", "check", "live"],
              "readinessProbe": ["zkelect", "check", "ready"]}
    for probe, command in probes.items():
        if sidecar.get(probe, {}).get("exec", {}).get("command") != command:
            fail(f"zkelect {probe}: expected exec {command}")
    env = sidecar_environment(sidecar)
    if env.get("ZKELECT_ID") != POD_NAME or env.get("ZKELECT_ADDRESS") != f"{POD_IP}:8080":
        fail(f"expected ZKELECT_ID from the pod name and ZKELECT_ADDRESS from its IP, got {env}")

    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True,
                               check=True).stdout
    known = set(re.findall(r"\(env (ZKELECT_[A-Z0-9_]+)", help_text))
    for name in env:
        if name.startswith("ZKELECT_") and name not in known:
            fail(f"{name} is not a zkelect variable (zkelect run --help lists {sorted(known)})")
    print(f"sidecar environment: {sorted(env)} (all known to zkelect run --help)")

    mounts = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    sources = {}
    for volume in pod["volumes"]:
        if volume["name"] not in mounts:
            continue
        if "configMap" in volume:
            config_map = find(objects, "ConfigMap", volume["configMap"]["name"])
            sources.update({os.path.join(mounts[volume["name"]], k): v
                            for k, v in config_map["data"].items()})
        elif "secret" in volume:
            secret = find(objects, "Secret", volume["secret"]["secretName"])
            sources.update({os.path.join(mounts[volume["name"]], k): v
                            for k, v in secret["stringData"].items()})
    return env, sources


def run_daemon(binary, env, sources):
    """Starts zkelect as the pod would, files in a temporary directory."""
    config_path = env["ZKELECT_CONFIG"]
    if config_path not in sources:
        fail(f"ZKELECT_CONFIG={config_path} is not a file of a mounted ConfigMap")
    with tempfile.TemporaryDirectory() as tmp:
        text = sources[config_path]
        for path, content in sources.items():
            local = os.path.join(tmp, path.lstrip("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "w", encoding="utf-8") as f:
                f.write(content)
            text = text.replace(f'"{path}"', f'"{local}"')  # a mounted file named in the config
        if "token_file" in text and tmp not in text:
            fail("http.token_file does not name the mounted Secret's file")
        local_config = os.path.join(tmp, "zkelect.toml")
        with open(local_config, "w", encoding="utf-8") as f:
            f.write(text)
        daemon_env = {**os.environ, **env, "ZKELECT_CONFIG": local_config}
        # Loopback port 0: the test may run beside anything.
        process = subprocess.Popen([binary, "run", "--http.listen=127.0.0.1:0"], env=daemon_env,
                                   stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            check_started(process, text)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                fail("zkelect did not exit within 15s of SIGTERM")


def check_started(process, config_text):
    """Reads the daemon's first log lines (bounded); checks what it started as."""
    path = re.search(r'^path = "([^"]+)"', config_text, re.M).group(1)
    servers = re.search(r'^servers = "([^"]+)"', config_text, re.M).group(1)
    deadline = time.monotonic() + 20
    lines = []
    port = None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            fail(f"zkelect exited with {process.wait()}: {''.join(lines)}")
        lines.append(line)
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        port = found.group(1) if found else port
        if "starting as" in line:
            expected = f"election {path}: starting as {POD_NAME} (candidate), ZooKeeper {servers}"
            if expected not in line:
                fail(f"expected the log line {expected!r}, got {line!r}")
            break
    else:
        fail(f"no start log line within 20s: {''.join(lines)}")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        if answer.status != 200:
            fail(f"/healthz answered {answer.status}")
    print(f"zkelect accepted the ConfigMap and environment: {line.strip()}")


def main():
    binary, manifest_dir = sys.argv[1], sys.argv[2]
    objects = load_objects(manifest_dir)
    deployment = find(objects, "Deployment")
    env, sources = check_sidecar(objects, deployment, binary)
    run_daemon(binary, env, sources)
    print("PASSED")


if __name__ == "__main__":
    main()
