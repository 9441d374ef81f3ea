#!/usr/bin/env python3
"""Checks docker/kubernetes/ against the real zkelect binary:

- every file parses as YAML, every object has apiVersion, kind and a name,
  and kustomization.yaml lists exactly the other files;
- the Deployment's zkelect sidecar probes through `zkelect check live`
  (liveness and readiness), takes its id and address from the downward API,
  and mounts the ConfigMap and the Secret that the manifests define at the
  paths the configuration names;
- no_rbac_and_no_token_by_default (finding 4 of the operations review: a
  Role let every pod patch every pod of the namespace, image included, and
  both containers got an API token that nothing used): the base has no RBAC
  and mounts no token; the opt-in label-leader/ overlay grants no more than
  get/patch on pods, narrows it with an admission policy to the pod's own
  zkelect.io/leader label, and mounts the token into the sidecar alone;
- readiness_without_zookeeper (finding 5: the sidecar's readiness was
  /readyz, so a ZooKeeper outage took every pod out of the Service): no
  container's readiness needs ZooKeeper or leadership;
- every ZKELECT_* variable it sets is one zkelect knows (`zkelect run
  --help` lists each key's variable);
- the ConfigMap's zkelect.toml plus that environment, loaded by a real
  `zkelect run` (mounts replaced by temporary files, the downward API by
  example values), is accepted and takes effect: the daemon starts with the
  pod name as id and the configured election path and ZooKeeper servers.

    kubernetes_manifests_test.py ZKELECT_BINARY MANIFEST_DIR [CHECK]

CHECK runs one named check alone (no_rbac_and_no_token_by_default,
readiness_without_zookeeper); without it, every check runs.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import tomllib
import time
import urllib.request

import yaml

POD_NAME = "myapp-7d9f8c6b5-x2x7q"
POD_IP = "10.1.2.3"


def fail(message):
    sys.exit(f"FAILED: {message}")


def load_yaml_dir(directory):
    objects = []
    for name in sorted(f for f in os.listdir(directory) if f.endswith(".yaml")):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            objects += [doc for doc in yaml.safe_load_all(f) if doc is not None]
    return objects


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
    found = [o for o in objects if o["kind"] == kind and name in (None, o.get("metadata", {}).get("name"))]
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
    # The probes name the sidecar's socket with --addr, so that they read no
    # file: a ConfigMap edit that no longer parses (every pod sees it at
    # once) must not fail the probes of daemons that run on. The address
    # must be one the ConfigMap's zkelect.toml listens on.
    listened = set()
    for obj in objects:
        if obj.get("kind") != "ConfigMap":
            continue
        for key, text in obj.get("data", {}).items():
            if key.endswith(".toml"):
                listen = tomllib.loads(text).get("http", {}).get("listen", [])
                listened.update([listen] if isinstance(listen, str) else listen)
    for probe in ("livenessProbe", "readinessProbe"):
        command = sidecar.get(probe, {}).get("exec", {}).get("command")
        if (not command or command[:3] != ["zkelect", "check", "live"] or len(command) != 5
                or command[3] != "--addr"):
            fail(f"zkelect {probe}: expected exec zkelect check live --addr ADDRESS, got {command}")
        if command[4] not in listened:
            fail(f"zkelect {probe}: --addr {command[4]} is not in the ConfigMap's http.listen "
                 f"{sorted(listened)}")
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


RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount"}
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def token_mounts(pod):
    """Container name -> whether a Kubernetes API token is mounted into it."""
    projected = {v["name"] for v in pod.get("volumes", [])
                 if any("serviceAccountToken" in s for s in v.get("projected", {}).get("sources", []))}
    automount = pod.get("automountServiceAccountToken", True)
    return {c["name"]: automount or any(m["name"] in projected or m["mountPath"].startswith(TOKEN_DIR)
                                        for m in c.get("volumeMounts", []))
            for c in pod["containers"]}


def check_no_rbac_and_no_token_by_default(objects, manifest_dir):
    granted = sorted(f"{o['kind']} {o['metadata']['name']}" for o in objects if o["kind"] in RBAC_KINDS)
    if granted:
        fail(f"the base manifests grant Kubernetes API access nothing uses: {granted}")
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    if pod.get("automountServiceAccountToken") is not False:
        fail("the pod does not set automountServiceAccountToken: false")
    if "serviceAccountName" in pod:
        fail(f"the pod runs as service account {pod['serviceAccountName']}, which nothing uses")
    mounted = [name for name, has_token in token_mounts(pod).items() if has_token]
    if mounted:
        fail(f"a Kubernetes API token is mounted into {mounted}")

    # The opt-in overlay: as little as Kubernetes allows, the sidecar alone.
    overlay_dir = os.path.join(manifest_dir, "label-leader")
    overlay = load_yaml_dir(overlay_dir)
    listed = sorted(find(overlay, "Kustomization")["resources"])
    expected = sorted(["../"] + [f for f in os.listdir(overlay_dir) if f.endswith(".yaml") and
                                 f not in ("kustomization.yaml", "deployment-patch.yaml")])
    if listed != expected:
        fail(f"label-leader/kustomization.yaml lists {listed}, expected {expected}")
    for role in (o for o in overlay if o["kind"] in ("Role", "ClusterRole")):
        if role["kind"] == "ClusterRole":
            fail("label-leader/ grants a ClusterRole")
        for rule in role["rules"]:
            if rule.get("resources") != ["pods"] or not set(rule["verbs"]) <= {"get", "patch"}:
                fail(f"label-leader/ Role rule beyond get/patch on pods: {rule}")
    account = find(overlay, "ServiceAccount")
    if account.get("automountServiceAccountToken") is not False:
        fail("label-leader/ ServiceAccount mounts its token into every container")
    policy = find(overlay, "ValidatingAdmissionPolicy")
    binding = find(overlay, "ValidatingAdmissionPolicyBinding")
    if binding["spec"]["policyName"] != policy["metadata"]["name"] or \
            binding["spec"]["validationActions"] != ["Deny"]:
        fail("label-leader/ admission policy is not bound with Deny")
    if account["metadata"]["name"] not in policy["spec"]["matchConditions"][0]["expression"]:
        fail("label-leader/ admission policy does not match the hooks' service account")
    rules = " ".join(v["expression"] for v in policy["spec"]["validations"])
    for needed in ("authentication.kubernetes.io/pod-name", "object.spec == oldObject.spec",
                   "zkelect.io/leader"):
        if needed not in rules:
            fail(f"label-leader/ admission policy does not check {needed}")
    patched = find(overlay, "Deployment")["spec"]["template"]["spec"]
    pod_with_overlay = {**pod, "volumes": pod["volumes"] + patched["volumes"],
                        "containers": [{**c, "volumeMounts": c.get("volumeMounts", []) + next(
                            (p["volumeMounts"] for p in patched["containers"] if p["name"] == c["name"]),
                            [])} for c in pod["containers"]]}
    mounted = sorted(name for name, has_token in token_mounts(pod_with_overlay).items() if has_token)
    if mounted != ["zkelect"]:
        fail(f"label-leader/ mounts the API token into {mounted}, expected the zkelect container alone")
    print("no RBAC and no token by default; label-leader/ grants get/patch on pods, narrowed by "
          "an admission policy to the own pod's zkelect.io/leader label, token in the sidecar alone")


# Readiness commands that need ZooKeeper (a session) or leadership.
ZOOKEEPER_PROBES = (["zkelect", "check", "ready"], ["zkelect", "check", "leader"])


def check_readiness_without_zookeeper(objects):
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    for container in pod["containers"]:
        probe = container.get("readinessProbe", {})
        command = probe.get("exec", {}).get("command")
        path = probe.get("httpGet", {}).get("path", "")
        if command in ZOOKEEPER_PROBES or path in ("/readyz", "/is-leader"):
            fail(f"container {container['name']}: readiness {command or path} needs ZooKeeper; "
                 "an outage would take every pod out of the Service")
    print("no container's readiness needs ZooKeeper")


def main():
    binary, manifest_dir = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    objects = load_objects(manifest_dir)
    if only in (None, "no_rbac_and_no_token_by_default"):
        check_no_rbac_and_no_token_by_default(objects, manifest_dir)
    if only in (None, "readiness_without_zookeeper"):
        check_readiness_without_zookeeper(objects)
    if only is None:
        deployment = find(objects, "Deployment")
        env, sources = check_sidecar(objects, deployment, binary)
        run_daemon(binary, env, sources)
    print("PASSED")


if __name__ == "__main__":
    main()
